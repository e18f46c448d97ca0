"""The Open-Sora example config builds its DAG on a host without GPU, torch import or Open-Sora."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.test_pipeline import job_counts

pytestmark = pytest.mark.e2e


def test_opensora_config_lists_the_paper_grid(workdir):
    shutil.copytree(REPO / "config", workdir.path / "config", dirs_exist_ok=True)
    config = yaml.safe_load((REPO / "config" / "opensora-v1.1.yaml").read_text())
    prompts = [
        line
        for line in (REPO / config["prompts"]).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    g = config["grid"]
    cells = len(prompts) * len(g["steps"]) * len(g["resolutions"]) * len(g["durations_s"])
    dry_run = workdir.snakemake(
        "-n", "--replace-workflow-config", "--configfile", "config/opensora-v1.1.yaml"
    )
    counts = job_counts(dry_run.stdout)
    assert counts["encode_prompt"] == len(prompts)
    assert counts["generate"] == counts["score_quality"] == cells == len(prompts) * 90
    assert "llm_request" not in counts  # the default config's baselines were replaced
    assert "results/videos/opensora-v1.1/" in dry_run.stdout
    assert "_f64_s100_seed0.mp4" in dry_run.stdout  # 8 s at 8 fps, Open-Sora's 100 steps
