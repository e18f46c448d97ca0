"""Levers through real Snakemake runs: adding one plans only its cells, the levers table adds
up against the baseline cells, a no-op lever matches its baseline, removing one leaves the
other rows as they were, and a lever that cannot run stops the run before any job."""

import copy
import math

import pytest

from tests.conftest import small_config
from tests.e2e.test_pipeline import job_counts
from tests.e2e.test_planning import planned_generate_cells
from vidcarbon.tables import LEVER_FIGURES, read_table

pytestmark = pytest.mark.e2e

LEVERS = {
    "variants": {
        # pyramid attention broadcast computing every attention every step: changes nothing
        "noop": {
            "cache": {
                "kind": "pyramid_attention_broadcast",
                "spatial_attention_block_skip_range": 1,
                "temporal_attention_block_skip_range": 1,
            }
        },
        "unipc-half": {"scheduler": "unipc", "steps_fraction": 0.5},
        "cfg-off": {"options": {"guidance_scale": 1}},
    },
    "grid": {"steps": [8]},
}
# the measured columns of a runs row (not when or where it ran, nor the study it belongs to)
MEASURED = ["cell_id", "status", "energy_j", "denoise_energy_j", "steps_run", "lever"]


def lever_config():
    config = small_config()
    config["grid"].update(steps=[2, 8], resolutions=["144p"], durations_s=[1])
    # named, so that a host whose CPU hardware.yaml lacks still prices embodied carbon
    config["carbon"] = {"device": "epyc-7763"}
    return config


def test_levers_plan_their_cells_add_up_and_leave_the_others_as_they_were(workdir):
    workdir.write_prompts(["a heron over a lake"])
    config = lever_config()
    workdir.write_config(config)
    workdir.snakemake()  # the baseline study

    config["levers"] = copy.deepcopy(LEVERS)
    workdir.write_config(config)
    dry_run = workdir.snakemake("-n").stdout
    cells = planned_generate_cells(dry_run)
    # the three levers' cells and nothing else measured: no new text encoding or baseline
    assert sorted((c["lever"], c["steps"]) for c in cells) == [
        ("cfg-off", "8"),
        ("noop", "8"),
        ("unipc-half", "8"),
    ]
    counts = job_counts(dry_run)
    assert "encode_prompt" not in counts and "idle_baseline" not in counts
    workdir.snakemake()

    results = workdir.path / "results"
    runs = read_table("runs", results / "runs.parquet").to_pandas().set_index("cell_id")
    levers = read_table("levers", results / "levers.parquet").to_pandas()
    assert set(levers.lever) == {"noop", "unipc-half", "cfg-off"}
    assert (levers.status == "ok").all()
    assert len(levers) == 3 * levers.scenario.nunique()
    # every saved column is baseline - lever, exactly, and the baseline figures are the
    # baseline cell's own
    for lever, baseline, saved, *_ in LEVER_FIGURES:
        assert (levers[saved] == levers[baseline] - levers[lever]).all(), saved
    for row in levers.itertuples():
        assert row.baseline_denoise_energy_j == runs.loc[row.baseline_cell_id, "denoise_energy_j"]
        assert row.denoise_energy_j == runs.loc[row.cell_id, "denoise_energy_j"]
    by_lever = levers[levers.scenario == levers.scenario.iloc[0]].set_index("lever")
    # a no-op lever: the baseline's video, frame for frame (tolerance 0: identical mp4s)
    noop = by_lever.loc["noop"]
    assert math.isinf(noop.psnr_db) and noop.ssim == 1.0
    # fewer steps: 4 of 8, and less denoising energy than the baseline on this CPU
    half = by_lever.loc["unipc-half"]
    assert half.steps_run == 4 and half.denoise_energy_saved_j > 0
    steps = read_table("steps", results / "steps.parquet").to_pandas()
    assert len(steps[steps.cell_id == half.cell_id]) == 4
    assert 0 < by_lever.loc["cfg-off"].ssim < 1
    # lever rows are carried by the carbon and quality tables, and kept out of the analyses
    carbon = read_table("carbon", results / "carbon.parquet").to_pandas()
    assert set(carbon.lever) == {"baseline", "noop", "unipc-half", "cfg-off"}
    findings = read_table("findings", results / "findings.parquet").to_pandas()
    assert findings[findings.kind == "lever"].name.str.startswith("best lever").all()
    assert (results / "charts" / "levers.png").stat().st_size > 1000
    before = runs.reset_index()[MEASURED]

    del config["levers"]["variants"]["cfg-off"]
    workdir.write_config(config)
    assert "generate" not in job_counts(workdir.snakemake("-n").stdout)
    workdir.snakemake()
    after = read_table("runs", results / "runs.parquet").to_pandas()[MEASURED]
    kept = before[before.lever != "cfg-off"].reset_index(drop=True)
    assert (
        after.sort_values("cell_id")
        .reset_index(drop=True)
        .equals(kept.sort_values("cell_id").reset_index(drop=True))
    )
    levers = read_table("levers", results / "levers.parquet").to_pandas()
    assert set(levers.lever) == {"noop", "unipc-half"}


def test_a_lever_that_cannot_run_stops_the_run_before_any_job(workdir):
    workdir.write_prompts(["a fox"])
    config = lever_config()
    config["levers"] = {"variants": {"fbc": {"cache": {"kind": "first_block_cache"}}}}
    workdir.write_config(config)
    proc = workdir.snakemake(check=False)
    assert proc.returncode != 0
    assert "lever 'fbc' on model 'latte-tiny' (backend latte-tiny)" in proc.stderr
    assert "cache 'first_block_cache' does not apply" in proc.stderr
    assert not (workdir.path / "results").exists()
