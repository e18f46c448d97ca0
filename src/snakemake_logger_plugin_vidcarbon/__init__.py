"""`snakemake --logger vidcarbon`: Snakemake finds logger plugins by this package name; the
handler lives in vidcarbon.console."""

from vidcarbon.console import LogHandler, LogHandlerSettings

__all__ = ["LogHandler", "LogHandlerSettings"]
