"""The video workload: spec, jobs (Snakemake side), measured (child side), table."""

from vidcarbon.workloads.video import spec

__all__ = ["spec"]
