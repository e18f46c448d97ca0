"""The image workload: spec, jobs (Snakemake side), measured (child side), table."""

from vidcarbon.workloads.image import spec

__all__ = ["spec"]
