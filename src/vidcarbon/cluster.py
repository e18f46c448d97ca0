"""Before submitting to SLURM: check that the partitions and GPU models the jobs ask for exist,
and that the status command can see jobs finish.

sbatch alone answers a wrong GPU model with "Requested node configuration is not available",
which names neither what was asked nor what the cluster has. `check_requests` does both. On a
cluster without an accounting database, sacct (the plugin's default status command) answers
every query with an error, and Snakemake waits for the jobs forever, silently:
`check_status_command` stops the run first with the one-line fix.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable

from vidcarbon.errors import ConfigError

PROFILE = "slurm/profile.yaml"


def sinfo_inventory() -> dict[str, set[str]]:
    """Partition -> GPU types, from this cluster's `sinfo`."""
    out = subprocess.run(
        ["sinfo", "--noheader", "--format=%R|%G"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return parse_sinfo(out)


def parse_sinfo(out: str) -> dict[str, set[str]]:
    """Partition -> the GPU types in its nodes' GRES, from `sinfo --format=%R|%G` lines such as
    `gpu|gpu:a100:4(S:0-1),gpu:h100:2` (one line per partition and node configuration)."""
    inventory: dict[str, set[str]] = {}
    for line in out.splitlines():
        partition, _, gres = line.strip().partition("|")
        types = inventory.setdefault(partition, set())
        for item in gres.split(","):
            match = re.match(r"gpu:([^:(]+):\d+", item.strip())
            if match:
                types.add(match[1])
    return inventory


def check_requests(
    requests: Iterable[tuple[str, str, str]], inventory: dict[str, set[str]]
) -> None:
    """Raise ConfigError for a (rule, partition, gpu_model) that the cluster cannot serve.

    An empty partition means the cluster's default one; an empty GPU model means any GPU.
    """
    for rule, partition, gpu_model in sorted(set(requests)):
        if partition and partition not in inventory:
            raise ConfigError(
                f"rule {rule}: slurm_partition {partition!r} does not exist on this cluster; "
                f"partitions: {', '.join(sorted(inventory))}. Fix: set default-resources "
                f'slurm_partition in {PROFILE} to one of them ("" = the default partition).'
            )
        if not gpu_model:
            continue
        searched = [partition] if partition else sorted(inventory)
        models = set().union(*(inventory[p] for p in searched))
        if gpu_model not in models:
            where = f"partition {partition!r}" if partition else "any partition"
            raise ConfigError(
                f"rule {rule}: gpu_model {gpu_model!r} is not a GPU type of {where}; "
                f"GPU types there: {', '.join(sorted(models)) or 'none'}. Fix: set "
                f'default-resources gpu_model in {PROFILE} to one of them ("" = any GPU).'
            )


def check_gpu_counts(requests: Iterable[tuple[str, str, int, int]]) -> None:
    """Raise ConfigError for a (rule, job, GPUs asked, GPUs its cell runs on) that asks for too
    few: Snakemake caps every job's resources at the workflow's (`resources: gpu` in the
    profile), so a cell on N GPUs would get fewer without a word."""
    for rule, job, asked, wanted in sorted(set(requests)):
        if asked < wanted:
            raise ConfigError(
                f"rule {rule}: {job} runs on {wanted} GPUs but would ask SLURM for {asked}: "
                f"Snakemake caps a job's gpu at the profile's. Fix: set `resources: gpu:` in "
                f"{PROFILE} to at least {wanted}."
            )


def check_status_command(status_command: str) -> None:
    """ConfigError when the SLURM status command is sacct and sacct cannot answer here."""
    if status_command != "sacct":
        return
    try:
        proc = subprocess.run(
            ["sacct", "--noheader", "--allocations", "--format=JobID", "--starttime=now"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    else:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        problem = said[0] if proc.returncode != 0 and said else None
        if proc.returncode != 0 and problem is None:
            problem = f"exit status {proc.returncode}"
    if problem:
        raise ConfigError(
            f"the SLURM status command is sacct, which fails on this cluster ({problem}), so "
            "Snakemake would never see a job finish. Fix: add `slurm-status-command: squeue` "
            f"to {PROFILE} (or pass --slurm-status-command squeue)."
        )


def check_slurm_jobs(jobs, status_command: str = "sacct") -> None:
    """`check_status_command`, then `check_requests` for the Snakemake jobs about to be
    submitted (local ones excluded)."""
    requests = [
        (
            job.rule.name,
            str(job.resources.get("slurm_partition") or ""),
            str(job.resources.get("gpu_model") or ""),
        )
        for job in jobs
        if not job.is_local
    ]
    if requests:
        check_status_command(status_command)
        check_requests(requests, sinfo_inventory())


def in_batch_step(argv: list[str]) -> bool:
    """Whether this Snakemake runs in the batch step of a SLURM job: started by the SLURM
    executor plugin (`--executor slurm-jobstep`), not in a job step of its own."""
    return (
        "SLURM_JOB_ID" in os.environ
        and "SLURM_STEP_ID" not in os.environ
        and "--executor" in argv
        and argv[argv.index("--executor") + 1 :][:1] == ["slurm-jobstep"]
    )


def target_rules(argv: list[str]) -> list[str]:
    """The rule of each job a Snakemake command line targets (`--target-jobs rule:wc ...`)."""
    if "--target-jobs" not in argv:
        return []
    rules = []
    for arg in argv[argv.index("--target-jobs") + 1 :]:
        if arg.startswith("--"):
            break
        rules.append(arg.split(":", 1)[0])
    return rules


def batch_step_local_rules(argv: list[str]) -> list[str]:
    """In the batch step of a SLURM job, the rules of its jobs, for Snakemake to run them as
    local rules there, in its own process, rather than each in a job step (`srun`) with a
    Snakemake of its own (2.5 s a job; docs/decisions.md). Elsewhere none."""
    return sorted(set(target_rules(argv))) if in_batch_step(argv) else []


def export_source(src: str) -> None:
    """Put `src` (this checkout's package folder) first on PYTHONPATH, for the jobs Snakemake
    starts: those in conda envs (--sdm conda) import vidcarbon from it (docs/decisions.md)."""
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if src not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *filter(None, paths)])
