"""Planning a paper-sized grid: adding a step count to a study of 2,000 measured cells plans
exactly the new cells, and after them only the cheap jobs that read every cell."""

import re
import sys

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.test_pipeline import job_counts

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic_study import write_study  # noqa: E402

pytestmark = pytest.mark.e2e

MEASURED = {"fetch_weights", "encode_prompt", "idle_baseline", "generate", "generate_image"}
MEASURED |= {"llm_prompts", "llm_weights", "llm_request", "count_flops"}


def planned_generate_cells(dry_run: str) -> list[dict[str, str]]:
    blocks = re.findall(r"^rule generate:\n(?:.*\n)*?\s+wildcards: (.+)$", dry_run, re.M)
    return [dict(kv.split("=") for kv in block.split(", ")) for block in blocks]


def test_adding_a_step_count_plans_only_the_new_cells(workdir):
    write_study(workdir.path, cells=2000, failed=5)
    (workdir.path / "results" / "flops.parquet").touch()  # as if counted (dry runs only)
    before = job_counts(workdir.snakemake("-n").stdout)
    # every measured job is done; what reads the records is planned (it has not run)
    assert not MEASURED & set(before), before
    assert before["score_quality"] == 25 and before["collect"] == 1

    config_path = workdir.path / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["grid"]["steps"].append(22)
    config_path.write_text(yaml.safe_dump(config))
    dry_run = workdir.snakemake("-n").stdout
    after = job_counts(dry_run)

    # the new cells, each once, and nothing else: no text encoding, FLOP count or baseline,
    # and still one scoring job per shape (it scores the new videos, reuses the others')
    cells = planned_generate_cells(dry_run)
    g = config["grid"]
    assert after.pop("generate") == len(cells) == 2 * 5 * 5 * len(g["seeds"]) == 200
    assert {c["steps"] for c in cells} == {"22"}
    assert len({tuple(c.values()) for c in cells}) == len(cells)
    assert after == before
