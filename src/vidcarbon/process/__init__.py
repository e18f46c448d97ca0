"""The process boundary around every measured job.

- `isolation` (the Snakemake job's side): `run_isolated` hands a job to a child process and
  turns whatever happens to it (an exception, an OOM kill, a signal) into a record.
- `warm_worker`: a fork server that has the heavy libraries imported; it forks each child.
- `child` (the child's side): reads the request and runs the workload's measured function.

Imports go one way: isolation -> warm_worker -> (after the fork) child -> the workloads.
"""
