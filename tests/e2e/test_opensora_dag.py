"""The paper config (Open-Sora v1.1) builds its DAG without a GPU, torch import or Open-Sora."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.test_pipeline import job_counts
from vidcarbon.prompts import read_prompts
from vidcarbon.tables import read_table

pytestmark = pytest.mark.e2e


def test_opensora_config_lists_the_paper_grid(workdir):
    shutil.copytree(REPO / "config", workdir.path / "config", dirs_exist_ok=True)
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    prompts = read_prompts(REPO / config["prompts"])
    g = config["grid"]
    cells = len(prompts) * len(g["steps"]) * len(g["resolutions"]) * len(g["durations_s"])
    dry_run = workdir.snakemake("-n", "--configfile", str(workdir.path / "config" / "paper.yaml"))
    counts = job_counts(dry_run.stdout)
    assert counts["encode_prompt"] == len(prompts)
    assert counts["generate"] == cells == len(prompts) * 90
    # quality is scored in one job per model and shape
    shapes = len(g["resolutions"]) * len(g["durations_s"])
    assert counts["score_quality"] == len(config["models"]) * shapes
    # The paper's text baseline, not the default config's: Llama-2-13B, 4 shards a dataset
    assert counts["llm_request"] == len(config["llm"]["datasets"]) * config["llm"]["shards"]
    assert "results/llm/requests/llama-2-13b/" in dry_run.stdout
    assert "generate_image" not in counts
    assert "results/videos/opensora-v1.1/" in dry_run.stdout
    assert "_f64_s100_seed0_baseline.mp4" in dry_run.stdout  # 8 s at 8 fps, 100 steps
    assert counts["count_flops"] == 1


def test_paper_config_counts_opensora_flops_without_opensora(workdir):
    """The paper config's count_flops, run for real here (no GPU, no Open-Sora package): one
    row per shape of the grid, 8 s 480p within 5 % of the hand count (tests/test_dit_flops.py)."""
    shutil.copytree(REPO / "config", workdir.path / "config", dirs_exist_ok=True)
    # the target first: --configfile takes every argument after it
    workdir.snakemake(
        "results/flops.parquet", "--replace-workflow-config", "--configfile", "config/paper.yaml"
    )
    flops = read_table("flops", workdir.path / "results" / "flops.parquet").to_pandas()
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    shapes = len(config["grid"]["resolutions"]) * len(config["grid"]["durations_s"])
    assert len(flops) == shapes and set(flops.model) == {"opensora-v1.1"}
    row = flops.set_index(["resolution", "frames"]).loc[("480p", 64)]
    assert 100 * row.denoise_step_flops == pytest.approx(3.2e16, rel=0.05)
    assert "formula" in row["method"] and row["dtype"] == "bfloat16"
