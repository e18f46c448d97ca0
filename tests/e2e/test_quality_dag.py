"""The quality rules in the DAG (dry runs): VBench adds one weights fetch, only when enabled."""

import pytest

from tests.conftest import small_config
from tests.e2e.test_pipeline import job_counts

pytestmark = pytest.mark.e2e


def test_vbench_fetches_weights_once_unless_told_not_to(workdir):
    config = small_config()
    workdir.write_prompts(["a fox"])
    workdir.write_config(config)
    assert "fetch_vbench_weights" not in job_counts(workdir.snakemake("-n").stdout)

    config["quality"] = {"vbench": {"enabled": True, "python": "python"}}
    workdir.write_config(config)
    counts = job_counts(workdir.snakemake("-n").stdout)
    assert counts["fetch_vbench_weights"] == 1 and counts["score_quality"] == 1

    config["quality"]["vbench"]["fetch"] = False  # e.g. placeholders already in cache_dir
    workdir.write_config(config)
    counts = job_counts(workdir.snakemake("-n").stdout)
    assert "fetch_vbench_weights" not in counts and counts["score_quality"] == 1
