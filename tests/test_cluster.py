"""Checks made before submitting to SLURM, on `sinfo` output written here."""

from __future__ import annotations

import os

import pytest

from vidcarbon.cluster import (
    batch_step_local_rules,
    check_gpu_counts,
    check_requests,
    export_source,
    parse_sinfo,
)
from vidcarbon.errors import ConfigError

SINFO = """gpu|gpu:a100:4(S:0-1)
gpu|gpu:h100:8(S:0-1),nvme:1
cpu|(null)
debug|gpu:fake:2
"""


def test_parse_sinfo_collects_gpu_types_per_partition():
    assert parse_sinfo(SINFO) == {"gpu": {"a100", "h100"}, "cpu": set(), "debug": {"fake"}}


def test_requests_the_cluster_can_serve_pass():
    inventory = parse_sinfo(SINFO)
    check_requests([("generate", "gpu", "h100"), ("generate", "", "fake")], inventory)
    check_requests([("idle_baseline", "", ""), ("generate", "cpu", "")], inventory)


def test_unknown_partition_names_the_partitions_and_the_fix():
    with pytest.raises(ConfigError) as err:
        check_requests([("generate", "gpus", "")], parse_sinfo(SINFO))
    message = str(err.value)
    assert "slurm_partition 'gpus'" in message
    assert "partitions: cpu, debug, gpu" in message
    assert "slurm/profile.yaml" in message


def test_unknown_gpu_model_names_the_types_of_that_partition():
    with pytest.raises(ConfigError, match=r"'v100' is not a GPU type of partition 'gpu'; "):
        check_requests([("generate", "gpu", "v100")], parse_sinfo(SINFO))
    with pytest.raises(ConfigError, match=r"GPU types there: a100, h100\."):
        check_requests([("generate", "gpu", "fake")], parse_sinfo(SINFO))
    with pytest.raises(ConfigError, match=r"of any partition; GPU types there: a100, fake, h100"):
        check_requests([("generate", "", "v100")], parse_sinfo(SINFO))


def test_a_cell_capped_below_its_gpus_is_refused_naming_the_profile_key():
    check_gpu_counts([("generate_parallel", "generate_parallel (cell a)", 2, 2)])
    with pytest.raises(ConfigError) as err:
        check_gpu_counts([("generate_parallel", "generate_parallel (cell b)", 1, 4)])
    assert str(err.value) == (
        "rule generate_parallel: generate_parallel (cell b) runs on 4 GPUs but would ask SLURM "
        "for 1: Snakemake caps a job's gpu at the profile's. Fix: set `resources: gpu:` in "
        "slurm/profile.yaml to at least 4."
    )


def test_export_source_prepends_once(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    export_source("/checkout/src")
    export_source("/checkout/src")
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/checkout/src", "/elsewhere"])


JOBS = ["generate:model=m,steps=1", "generate:model=m,steps=2", "score_quality:model=m"]


@pytest.mark.parametrize(
    ("argv", "env", "local_rules"),
    [
        # the batch step of a SLURM job, as the SLURM executor plugin starts Snakemake there
        (["--target-jobs", *JOBS, "--executor", "slurm-jobstep", "--mode", "remote"],
         {"SLURM_JOB_ID": "7"}, ["generate", "score_quality"]),
        # a job step of it (an srun inside the job): not the batch step
        (["--target-jobs", *JOBS, "--executor", "slurm-jobstep"],
         {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0"}, []),
        # the submitting Snakemake, run inside an allocation (salloc) or outside one
        (["--profile", "slurm", "--executor", "slurm"], {"SLURM_JOB_ID": "7"}, []),
        (["--profile", "slurm"], {}, []),
        # another executor's remote job
        (["--target-jobs", *JOBS, "--executor", "kubernetes"], {"SLURM_JOB_ID": "7"}, []),
    ],
)  # fmt: skip
def test_only_the_batch_step_runs_its_jobs_as_local_rules(monkeypatch, argv, env, local_rules):
    for name in ("SLURM_JOB_ID", "SLURM_STEP_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert batch_step_local_rules(["snakemake/__main__.py", *argv]) == local_rules
