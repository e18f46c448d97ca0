"""Exception types, one per failure family; messages name the field, the value and the fix."""


class VidcarbonError(Exception):
    """Base class of the package's errors."""


class ConfigError(VidcarbonError):
    """The configuration (or a file it names) is invalid."""


class BackendUnavailable(VidcarbonError):
    """A generation backend cannot run here (missing package, weights or device)."""


class SchemaMismatch(VidcarbonError):
    """A Parquet table does not have the schema (or schema version) this package expects."""


class ResubmitWithMoreResources(VidcarbonError):
    """A job ran out of memory (or was killed) and has attempts left: it fails on purpose so
    that Snakemake resubmits it with the next attempt's larger resources."""


class MergeError(VidcarbonError):
    """`vidcarbon merge` cannot merge these files into that output (missing, or unsafe)."""
