import numpy as np
import pytest

from tests.analysis.test_charts import runs_table
from vidcarbon.analysis.estimate import estimate
from vidcarbon.cli import main
from vidcarbon.errors import ConfigError
from vidcarbon.tables import provenance, write_table


def measured_runs():
    runs = runs_table(resolutions=("144p", "240p", "360p"), frames=(8, 16), steps=(4, 8, 16))
    rng = np.random.default_rng(1)
    noise = rng.lognormal(0, 0.03, len(runs))
    runs["model"] = "m"
    runs["energy_j"] = 2e-6 * runs.steps * (runs.height * runs.width) ** 1.2 * runs.frames * noise
    runs["generation_duration_s"] = runs.energy_j / 300.0  # a 300 W device
    return runs


def test_estimate_matches_a_measured_cell_it_was_fitted_on():
    runs = measured_runs()
    cell = runs[(runs.resolution == "240p") & (runs.frames == 16) & (runs.steps == 8)]
    e = estimate(runs, "m", "240p", 2.0, 8, "gas")
    low, mid, high = e.energy_j
    assert low < cell.energy_j.iloc[0] < high
    assert mid == pytest.approx(cell.energy_j.iloc[0], rel=0.08)
    assert e.operational_g[1] == pytest.approx(mid / 3.6e6 * 1.2 * 490)
    assert e.extrapolated == {} and e.r2 > 0.99


def test_estimate_says_when_it_extrapolates():
    e = estimate(measured_runs(), "m", "720p", 8.0, 100, "wind", embodied_g=26_000.0)
    assert set(e.extrapolated) == {"steps", "pixels", "frames"}
    assert e.extrapolated["steps"] == (100, 4.0, 16.0)
    low, mid, high = e.embodied_g
    assert low < mid < high


def test_estimate_refuses_what_it_cannot_fit():
    runs = measured_runs()
    single = runs[runs.resolution == "240p"]
    with pytest.raises(ConfigError, match="single value"):
        estimate(single, "m", "720p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="models measured: m"):
        estimate(runs, "x", "240p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="allowed: 144p"):
        estimate(runs, "m", "999p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="unknown"):
        estimate(runs, "m", "240p", 2.0, 8, "peat")


def test_estimate_command(tmp_path, capsys):
    from vidcarbon.tables import RUNS

    runs = measured_runs()
    rows = []
    for i, r in enumerate(runs.to_dict("records")):
        row = {name: None for name in RUNS.names}
        row.update({k: v for k, v in r.items() if k in RUNS.names})
        row.update(run_id=f"r{i}", cell_id=f"c{i}", prompt_id="p0123456789", seed=0)
        rows.append(row)
    path = tmp_path / "runs.parquet"
    write_table("runs", rows, path, provenance("h", [], []))
    args = [
        "estimate",
        "--runs",
        str(path),
        "--model",
        "m",
        "--resolution",
        "720p",
        "--duration",
        "8",
        "--steps",
        "100",
        "--intensity",
        "gas",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "EXTRAPOLATES: steps = 100" in out and "at gas (490 g/kWh)" in out
