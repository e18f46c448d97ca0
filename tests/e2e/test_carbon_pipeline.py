"""Real Snakemake: the carbon rule's outputs, and that carbon-only changes rerun only `carbon`."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import small_config
from tests.e2e.test_pipeline import job_counts
from vidcarbon.tables import read_table

# a carbon-only change reruns carbon and what reads it (the charts of carbon tables,
# findings), nothing upstream, and no chart of the runs alone (phases, power)
CARBON_CHARTS = (
    "rq1_energy_sources",
    "rq4_steps_carbon_quality",
    "rq5_resolution",
    "rq5_duration",
    "carbon_credits",
    "carbon_by_time",
)
CARBON_ONLY = {
    "carbon": 1,
    **{f"chart_{name}": 1 for name in CARBON_CHARTS},
    "findings": 1,
    "levers": 1,  # carbon saved by each lever (none configured here: an empty table)
    "chart_levers": 1,
    "all": 1,
}

pytestmark = pytest.mark.e2e

SERIES = "timestamp,intensity_g_per_kwh\n" + "".join(
    f"2024-06-{1 + i // 24:02d}T{i % 24:02d}:00,{100 if 10 <= i % 24 < 14 else 400}\n"
    for i in range(72)
)


def mtimes(paths):
    return {p: p.stat().st_mtime_ns for p in paths}


def test_carbon_outputs_and_carbon_only_reruns(workdir):
    config = small_config()
    config["grid"]["steps"] = [1, 2, 3]
    config["carbon"] = {
        "device": "a100-80gb",  # charged "as if" the CPU job ran on it, to test a GPU entry
        "scenarios": [
            {"source": "wind"},
            {"source": "gas"},
            {"name": "grid", "timeseries": "config/series.csv"},
        ],
        "deferral_deadlines_h": [1, 8],
    }
    (workdir.path / "config" / "series.csv").write_text(SERIES)
    workdir.write_config(config)
    workdir.write_prompts(["a lighthouse in fog"])
    workdir.snakemake()
    results = workdir.path / "results"

    every = read_table("carbon", results / "carbon.parquet").to_pandas()
    # one row per cell, scenario and embodied source: ACT's (the headline) and Chien et al.'s
    assert len(every) == 3 * 3 * 2 and set(every.status) == {"ok"}
    assert every.groupby("embodied_source").unit_embodied_g.first().round().to_dict() == {
        "act": 25_991,
        "chien-hotcarbon23": 318_000,
    }
    assert every.groupby("embodied_source").embodied_default.all().to_dict() == {
        "act": True,
        "chien-hotcarbon23": False,
    }
    carbon = every[every.embodied_default]
    published = every[~every.embodied_default].set_index(["scenario", "steps"])
    assert (published.operational_g == carbon.set_index(["scenario", "steps"]).operational_g).all()
    assert (published.breakeven_intensity_g_per_kwh > 0).all()
    by = carbon.set_index(["scenario", "steps"])
    assert (by.loc["gas"].operational_g / by.loc["wind"].operational_g).tolist() == pytest.approx(
        [490 / 11] * 3
    )
    assert (carbon.unit_embodied_g.round() == 25_991).all() and (carbon.embodied_share == 1).all()
    assert (carbon.estimated_components == "cpu").all() and (carbon.pue == 1.2).all()
    deferral = read_table("deferral", results / "deferral.parquet").to_pandas()
    d8 = deferral[deferral.deadline_h == 8]
    assert (deferral[deferral.deadline_h == 1].saving_g == 0).all() and (d8.saving_g > 0).all()
    by_time = read_table("carbon_by_time", results / "carbon_by_time.parquet").to_pandas()
    assert set(by_time.period_kind) == {"hour_of_day", "month"} and len(by_time) == 3 * 25
    credits = read_table("credits", results / "credits.parquet").to_pandas()
    assert credits.set_index("steps").credits[2] == pytest.approx(10)  # the reference: middle
    # the 6 lowest hours of day: 4 at 100 and 2 at 400 g/kWh (mean 200) vs the 350 g/kWh mean;
    # the A100's embodied share (a CPU draws little power) does not get cheaper at noon
    kwh = credits.predicted_energy_j / 3.6e6 * 1.2
    emb = credits.predicted_duration_s / (5 * 365 * 86400) * 25_991
    expected = (kwh * 200 + emb) / (kwh * 350 + emb)
    assert credits.discount_factor.tolist() == pytest.approx(expected.tolist(), rel=1e-4)
    assert (credits.low_intensity_g_per_kwh == 200).all() and (expected < 0.9).all()
    read_table("credit_fits", results / "credit_fits.parquet")

    upstream = mtimes([results / "runs.parquet", *results.rglob("cells/**/*.json")])

    # (a) PUE: only carbon (and all) are planned; the run leaves runs.parquet alone
    config["carbon"]["pue"] = 1.5
    workdir.write_config(config)
    assert job_counts(workdir.snakemake("-n").stdout) == CARBON_ONLY
    workdir.snakemake()
    after = read_table("carbon", results / "carbon.parquet").to_pandas()
    after = after[after.embodied_default]
    assert after.operational_g.tolist() == pytest.approx(
        (carbon.operational_g * 1.5 / 1.2).tolist()
    )
    assert mtimes(upstream) == upstream

    # (b) the lifetime, then an intensity: each plans only carbon (run once, after (c))
    config["carbon"]["lifetime_years"] = 4
    workdir.write_config(config)
    assert job_counts(workdir.snakemake("-n").stdout) == CARBON_ONLY
    config["carbon"]["scenarios"][0] = {"name": "wind", "intensity_g_per_kwh": 20}
    workdir.write_config(config)
    assert job_counts(workdir.snakemake("-n").stdout) == CARBON_ONLY
    # the embodied sources charged: ACT's alone
    config["carbon"]["embodied_sources"] = []
    workdir.write_config(config)
    assert job_counts(workdir.snakemake("-n").stdout) == CARBON_ONLY

    # (c) a hardware value of the charged device: only carbon
    hardware_file = workdir.path / "config" / "hardware.yaml"
    hardware = yaml.safe_load(hardware_file.read_text())
    hardware["devices"]["a100-80gb"]["memory_gb"] = 40
    hardware_file.write_text(yaml.safe_dump(hardware))
    assert job_counts(workdir.snakemake("-n").stdout) == CARBON_ONLY
    workdir.snakemake()
    final = read_table("carbon", results / "carbon.parquet").to_pandas()
    assert final.unit_embodied_g.tolist() == pytest.approx([23_020] * 9, abs=1)  # = a100-40gb
    assert set(final.embodied_source) == {"act"}
    assert (final.lifetime_years == 4).all()
    assert final[final.scenario == "wind"].intensity_g_per_kwh.eq(20).all()
    assert mtimes(upstream) == upstream

    # (d) an unrelated hardware entry, or another device's published figure: nothing to do
    hardware["devices"]["h200"]["memory_gb"] = 999
    hardware["devices"]["h100-sxm-80gb"]["embodied_sources"]["ecologits-h100"]["year"] = 2024
    hardware_file.write_text(yaml.safe_dump(hardware))
    assert "Nothing to be done" in workdir.snakemake("-n").stdout

    # (e) a bad series stops Snakemake before anything is replaced
    outputs = mtimes(results.glob("*.parquet"))
    bad = SERIES.replace("2024-06-01T05:00,400\n", "")
    (workdir.path / "config" / "series.csv").write_text(bad)
    proc = workdir.snakemake(check=False)
    assert proc.returncode != 0
    assert "config/series.csv, line 7: timestamp '2024-06-01T06:00'" in proc.stderr
    assert "1 hour(s) missing" in proc.stderr and "Fix:" in proc.stderr
    assert mtimes(outputs) == outputs
