import re

import numpy as np
import pandas as pd
import pytest

from tests.analysis.test_charts import runs_table
from vidcarbon.analysis.estimate import estimate
from vidcarbon.cli import main
from vidcarbon.errors import ConfigError
from vidcarbon.tables import RUNS, provenance, write_table


def measured_runs():
    runs = runs_table(resolutions=("144p", "240p", "360p"), frames=(8, 16), steps=(4, 8, 16))
    rng = np.random.default_rng(1)
    noise = rng.lognormal(0, 0.03, len(runs))
    runs["model"] = "m"
    runs["fps"] = 8
    runs["energy_j"] = 2e-6 * runs.steps * (runs.height * runs.width) ** 1.2 * runs.frames * noise
    runs["generation_duration_s"] = runs.energy_j / 300.0  # a 300 W device
    runs["lever"] = "baseline"
    runs[["gpus", "ulysses_degree", "ring_degree"]] = 1
    runs["cell_id"] = [
        f"m/p0123456789/{r}_f{f}_s{s}_seed0_baseline"
        for r, f, s in zip(runs.resolution, runs.frames, runs.steps, strict=True)
    ]
    return runs


def write_runs(runs, path, prefix=""):
    rows = []
    for i, r in enumerate(runs.to_dict("records")):
        row = {name: None for name in RUNS.names}
        row.update({k: v for k, v in r.items() if k in RUNS.names})
        row.update(run_id=f"{prefix}r{i}", prompt_id="p0123456789", seed=0)
        rows.append(row)
    write_table("runs", rows, path, provenance("h", [], []))
    return path


def test_estimate_matches_a_measured_cell_it_was_fitted_on():
    runs = measured_runs()
    cell = runs[(runs.resolution == "240p") & (runs.frames == 16) & (runs.steps == 8)]
    e = estimate(runs, "m", "240p", 2.0, 8, "gas")
    assert e.energy_j.low < cell.energy_j.iloc[0] < e.energy_j.high
    assert e.energy_j.value == pytest.approx(cell.energy_j.iloc[0], rel=0.08)
    assert e.operational_g.value == pytest.approx(e.energy_j.value / 3.6e6 * 1.2 * 490)
    assert e.extrapolated == {} and e.r2 > 0.99


def test_estimate_says_when_it_extrapolates():
    e = estimate(measured_runs(), "m", "720p", 8.0, 100, "wind", embodied_g=26_000.0)
    assert set(e.extrapolated) == {"steps", "pixels", "frames"}
    assert e.extrapolated["steps"] == (100, 4.0, 16.0)
    assert e.embodied_g.low < e.embodied_g.value < e.embodied_g.high
    assert e.size_source == "Open-Sora's; not measured" and (e.height, e.width) == (720, 1280)


def test_estimate_takes_the_models_fps_and_pixel_sizes_from_its_runs():
    # a Wan-like model: 16 fps, and its 480p is 480x832 (multiples of 16), not Open-Sora's 854
    runs = measured_runs()
    runs = runs.assign(
        model="wan",
        fps=16,
        resolution=runs.resolution.map({"144p": "144p", "240p": "240p", "360p": "480p"}),
        width=runs.width.where(runs.resolution != "360p", 832),
        height=runs.height.where(runs.resolution != "360p", 480),
    )
    e = estimate(runs, "wan", "480p", 5.0, 8, "gas")
    assert (e.fps, e.frames) == (16, 80)  # not 40 frames at a default 8 fps
    assert (e.height, e.width, e.size_source) == (480, 832, "as measured")
    assert estimate(runs, "wan", "480p", 5.0, 8, "gas", fps=8).frames == 40  # --fps overrides


def test_a_lever_scales_the_baseline_law_by_its_measured_ratio():
    runs = measured_runs()
    levered = runs[(runs.resolution == "240p") & (runs.steps == 16)].copy()
    levered["lever"] = "half"
    levered["cell_id"] = levered.cell_id.str.replace("_baseline", "_half")
    levered[["energy_j", "generation_duration_s"]] *= [0.4, 0.5]
    both = pd.concat([runs, levered])
    base = estimate(both, "m", "720p", 2.0, 8, "gas")
    half = estimate(both, "m", "720p", 2.0, 8, "gas", lever="half")
    assert half.energy_j.value == pytest.approx(0.4 * base.energy_j.value)
    assert half.duration_s.high == pytest.approx(0.5 * base.duration_s.high)
    assert (half.lever_cells, base.lever_cells) == (len(levered), 0)
    with pytest.raises(ConfigError, match="--lever 'nope' has no successful cell"):
        estimate(both, "m", "240p", 2.0, 8, "gas", lever="nope")


def test_estimate_refuses_what_it_cannot_fit():
    runs = measured_runs()
    single = runs[runs.resolution == "240p"]
    with pytest.raises(ConfigError, match="single value"):
        estimate(single, "m", "720p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="models measured: m"):
        estimate(runs, "x", "240p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="allowed: 144p"):
        estimate(runs, "m", "999p", 2.0, 8, "gas")
    with pytest.raises(ConfigError, match="'peat' is none of: an energy source"):
        estimate(runs, "m", "240p", 2.0, 8, "peat")


ARGS = ["--model", "m", "--resolution", "240p", "--duration", "2", "--steps", "8"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--steps", "0"], "--steps 0 is not allowed; allowed: a whole number >= 1"),
        (["--steps", "-5"], "--steps -5 is not allowed; allowed: a whole number >= 1"),
        (["--duration", "0"], "--duration 0 is not allowed; allowed: seconds of video > 0"),
        (["--duration", "-3"], "--duration -3 is not allowed; allowed: seconds of video > 0"),
        (["--duration", "0.01"], "--duration 0.01 is 0.08 frames at 8 fps; allowed: > 0.0625 s"),
        (["--fps", "0"], "--fps 0 is not allowed; allowed: a whole number >= 1"),
        (["--pue", "0.5"], "--pue 0.5 is not allowed; allowed: >= 1"),
        (["--pue", "nan"], "--pue nan is not allowed; allowed: >= 1"),
        (["--runs", "/missing.parquet"], "--runs /missing.parquet: no such file; run the"),
        (
            ["--intensity", "germany"],
            "--intensity 'germany' is none of: an energy source (coal, gas,",
        ),
        (["--intensity", "germany"], "alpha-3 code in capitals (e.g. FRA, DEU, USA"),
        (["--intensity", "NARNIA"], "NARNIA"),
    ],
)
def test_estimate_command_refuses_impossible_input(tmp_path, capsys, flags, message):
    path = write_runs(measured_runs(), tmp_path / "runs.parquet")
    with pytest.raises(SystemExit) as exit_:
        main(["estimate", "--runs", str(path), *ARGS, *flags])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "nan" not in err.replace("--pue nan", "")


def test_estimate_command_names_an_unreadable_runs_file(tmp_path, capsys):
    bad = tmp_path / "runs.parquet"
    bad.write_text("not parquet")
    with pytest.raises(SystemExit):
        main(["estimate", "--runs", str(bad), *ARGS])
    assert f"--runs {bad}: not a readable vidcarbon runs table" in capsys.readouterr().err


def test_estimate_command(tmp_path, capsys):
    path = write_runs(measured_runs(), tmp_path / "runs.parquet")
    args = ["--model", "m", "--resolution", "720p", "--duration", "8", "--steps", "100"]
    assert main(["estimate", "--runs", str(path), *args, "--intensity", "gas"]) == 0
    out = capsys.readouterr().out
    assert "EXTRAPOLATES: steps = 100" in out and "at gas (490 g/kWh)" in out
    assert "720p (720x1280 pixels, Open-Sora's; not measured), 8 s at 8 fps = 64 frames" in out


def test_estimate_command_under_a_lever(tmp_path, capsys):
    runs = measured_runs()
    levered = runs[runs.steps == 16].copy()
    levered["lever"] = "half"
    levered["cell_id"] = levered.cell_id.str.replace("_baseline", "_half")
    levered[["energy_j", "generation_duration_s"]] *= 0.5
    path = write_runs(pd.concat([runs, levered]), tmp_path / "runs.parquet")
    assert main(["estimate", "--runs", str(path), *ARGS, "--lever", "half"]) == 0
    out = capsys.readouterr().out
    assert "8 steps, lever half (laws fitted on 18 baseline cells" in out
    ratio = "lever half: the baseline law x 0.5, its energy ratio to its baseline cells"
    assert f"{ratio} (mean over {len(levered)} cells" in out


def test_estimate_gives_the_breakeven_intensity_of_every_embodied_source(tmp_path, capsys):
    sources = [
        {"source": "act", "counts": "gpu", "embodied_g": 26_000.0},
        {"source": "x23", "counts": "server share", "embodied_g": 318_000.0},
    ]
    e = estimate(measured_runs(), "m", "240p", 2.0, 8, "gas", embodied_g=26_000.0, sources=sources)
    act, x23 = e.by_source
    assert act.embodied_g == e.embodied_g  # ACT's is the headline
    # a 300 W device, PUE 1.2, 5 years: embodied_g / 157 680 000 s x 3.6e6 / (300 W x 1.2)
    power_w = e.energy_j.value / e.duration_s.value
    assert power_w == pytest.approx(300.0, rel=0.01)
    by_hand = 318_000 / 157_680_000 * 3.6e6 / (power_w * 1.2)
    assert x23.breakeven_intensity_g_per_kwh == pytest.approx(by_hand, rel=1e-9)
    assert x23.breakeven_intensity_g_per_kwh == pytest.approx(20.17, abs=0.3)
    assert x23.embodied_g.value == pytest.approx(318 / 26 * act.embodied_g.value)
    path = write_runs(measured_runs(), tmp_path / "runs.parquet")
    args = ["--model", "m", "--resolution", "240p", "--duration", "2", "--steps", "8"]
    assert main(["estimate", "--runs", str(path), *args, "--device", "a100-80gb"]) == 0
    out = capsys.readouterr().out
    assert "(ACT's model, the headline)" in out
    line = next(x for x in out.splitlines() if "chien-hotcarbon23" in x)
    assert "server share" in line and re.search(r"break-even 20\.\d+ g/kWh", line)
    with pytest.raises(SystemExit):
        main(["estimate", "--runs", str(path), *args, "--device", "dgx-a100"])
    assert "--device 'dgx-a100' is not a gpu or cpu entry" in capsys.readouterr().err


def carbon_beside(runs_path, pue, lifetime_years=5.0, study=None):
    """A carbon.parquet beside `runs_path` with the study's settings (the columns estimate
    reads)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"study": [study], "pue": [pue], "lifetime_years": [lifetime_years]})
    pq.write_table(table, runs_path.parent / "carbon.parquet")


ONE = ["--model", "m", "--resolution", "240p", "--duration", "2", "--steps", "8"]


def operational_g(out: str) -> float:
    return float(re.search(r"operational\s+([0-9.e+-]+) g CO2e", out)[1])


def test_estimate_uses_the_studys_pue_and_says_where_it_came_from(tmp_path, capsys):
    path = write_runs(measured_runs(), tmp_path / "runs.parquet")
    assert main(["estimate", "--runs", str(path), *ONE]) == 0
    paper = capsys.readouterr().out
    assert f"PUE 1.2 (the paper's: no {tmp_path / 'carbon.parquet'} with one PUE)" in paper
    carbon_beside(path, pue=1.5)
    assert main(["estimate", "--runs", str(path), *ONE]) == 0
    study = capsys.readouterr().out
    assert f"PUE 1.5 (the study's, from {tmp_path / 'carbon.parquet'})" in study
    assert operational_g(study) == pytest.approx(operational_g(paper) * 1.5 / 1.2, rel=1e-3)
    assert main(["estimate", "--runs", str(path), *ONE, "--pue", "1.1"]) == 0
    assert "PUE 1.1 (--pue)" in capsys.readouterr().out


def test_estimate_refuses_a_table_of_several_studies_unless_one_is_named(
    tmp_path, capsys, monkeypatch
):
    from vidcarbon.merge import merge_tables

    paths = []
    for study in ("cpu-toy", "site-b-toy"):
        monkeypatch.setenv("VIDCARBON_STUDY", study)
        monkeypatch.setenv("VIDCARBON_STUDY_HASH", f"hash-{study}")
        paths.append(write_runs(measured_runs(), tmp_path / f"{study}.parquet", prefix=study))
    merged = tmp_path / "merged" / "runs.parquet"
    merge_tables(paths, merged, allow_mixed_studies=True)
    with pytest.raises(SystemExit):
        main(["estimate", "--runs", str(merged), *ONE])
    assert "holds rows of several studies (cpu-toy, site-b-toy)" in capsys.readouterr().err
    assert main(["estimate", "--runs", str(merged), *ONE, "--study", "site-b-toy"]) == 0
    assert "baseline cells of study site-b-toy" in capsys.readouterr().out
