"""Cells on several devices through Snakemake: a tiny Wan2.1 on one and on two CPU processes
(gloo) in a local run, and through the test SLURM, where the two-device cell is one job that
asks for two (fake) GPUs and each rank reads its own."""

from __future__ import annotations

import os
import re

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import small_config
from tests.e2e.test_slurm import finish, slurm_cluster, slurm_jobs, slurm_workdir, start_slurm_run
from tests.test_diffusers_video import TINY, WAN
from vidcarbon.energy import fake_devices
from vidcarbon.tables import read_table
from vidcarbon.video import read_mp4

pytestmark = pytest.mark.e2e
assert slurm_cluster  # the fixture, imported for the SLURM test

SPLIT = "_g2u2r1"


def parallel_config() -> dict:
    """One tiny-Wan cell (32x48 pixels, 5 frames: 12 tokens) on one device and on two."""
    config = small_config()
    config["models"] = {
        "wan-tiny": {
            "backend": "diffusers",
            "options": {"model": WAN, "weights": "random", "architecture": TINY[WAN]},
            "resolutions": {"144p": [32, 48]},
        }
    }
    config["grid"] = {"steps": [3], "resolutions": ["144p"], "durations_s": [0.625], "seeds": [0]}
    config["parallel"] = {"layouts": [{"ulysses": 2}]}
    return config


def test_a_cell_on_two_devices_runs_beside_its_one_device_cell(workdir):
    workdir.write_config(parallel_config())
    workdir.write_prompts(["a heron wading, at dawn"])
    workdir.snakemake("results/runs.parquet", "results/carbon.parquet")
    results = workdir.path / "results"
    runs = read_table("runs", results / "runs.parquet").to_pandas().set_index("gpus")
    assert sorted(runs.index) == [1, 2] and set(runs.status) == {"ok"}
    assert runs.loc[2, "cell_id"] == runs.loc[1, "cell_id"] + SPLIT
    assert (runs.loc[2, "ulysses_degree"], runs.loc[2, "ring_degree"]) == (2, 1)
    assert runs.failed_rank.isna().all()
    one, two = (read_mp4(workdir.path / runs.loc[n, "video_path"]) for n in (1, 2))
    assert (one == two).all()
    ranks = read_table("ranks", results / "ranks.parquet").to_pandas()
    assert list(ranks["rank"]) == [0, 1] and set(ranks.cell_id) == {runs.loc[2, "cell_id"]}
    # the cell's CPU energy (a per-process estimate) is the sum of its ranks'
    for phase in ("denoise", "decode"):
        assert ranks[f"{phase}_cpu_energy_j"].sum() == pytest.approx(
            runs.loc[2, f"{phase}_cpu_energy_j"]
        )
    assert ranks.energy_share.sum() == pytest.approx(1.0)
    # its embodied carbon: two processes' share of the CPU package
    carbon = read_table("carbon", results / "carbon.parquet").to_pandas()
    carbon = carbon[carbon.embodied_default].set_index("gpus")
    assert carbon.loc[2, "embodied_share"].iloc[0] == pytest.approx(
        2 * carbon.loc[1, "embodied_share"].iloc[0]
    )


def generation_jobs(dry_run: str) -> list[str]:
    """The text of each generation job a `snakemake -n` plans: its rule, then its lines."""
    return re.findall(r"rule (generate\w*:\n(?:[ \t]+.*\n)+)", dry_run)


def test_slurm_gives_a_two_device_cell_two_gpus(slurm_cluster, tmp_path):
    config = {**parallel_config(), "device": "cuda", "carbon": {"device": "a100-80gb"}}
    workdir = slurm_workdir(tmp_path / "run", config)
    # planned: the two-device cell asks SLURM for 2 GPUs, the one-device cell for 1
    out = finish(start_slurm_run(workdir, "-n", "results/runs.parquet"))
    asked = {(job.split(":")[0], re.search(r"gpu=(\d+)", job)[1]) for job in generation_jobs(out)}
    assert asked == {("generate", "1"), ("generate_parallel", "2")}, out[-3000:]
    # the shipped sweep: each cell's job asks for its 1, 2, 4 or 8 GPUs
    sweep = finish(start_slurm_run(workdir, "-n", configfile="config/wan-parallel.yaml"))
    asked = {
        (re.search(r"_baseline(_g\d+u\d+r\d+|)\.mp4", job)[1], re.search(r"gpu=(\d+)", job)[1])
        for job in generation_jobs(sweep)
    }
    assert sorted(asked) == [("", "1"), ("_g2u2r1", "2"), ("_g4u4r1", "4"), ("_g8u4r2", "8")]
    fake = tmp_path / "fake-devices"
    os.environ[fake_devices.ENV] = str(fake)  # sbatch --export=ALL hands it to the jobs
    try:
        out = finish(start_slurm_run(workdir, "results/runs.parquet"))
    finally:
        del os.environ[fake_devices.ENV]
    runs = pq.read_table(workdir.path / "results" / "runs.parquet").to_pandas()
    assert set(runs.status) == {"ok"}, out[-4000:]
    split = runs[runs.gpus == 2].iloc[0]
    job = slurm_jobs()[split.slurm_job_id]
    assert job["TresPerJob"] == "gres:gpu:fake:2", job  # sbatch --gpus=fake:2
    tag = fake_devices.FakeGPUs(fake).tag
    assert split.device_id == f"gpu:GPU-fake-{tag}-0,gpu:GPU-fake-{tag}-1"
    idle_w, active_w = fake_devices.GPU_W
    assert split.denoise_gpu_energy_j == pytest.approx(
        2 * (idle_w + active_w) * split.denoise_duration_s, rel=0.2
    )
    assert not split.gpu_shared and not split.cpu_shared
    assert yaml.safe_load((workdir.path / "config" / "config.yaml").read_text())["parallel"]
