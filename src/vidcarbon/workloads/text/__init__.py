"""The text workload: spec, jobs (Snakemake side), measured (child side), table."""

from vidcarbon.workloads.text import spec

__all__ = ["spec"]
