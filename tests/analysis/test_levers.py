"""The levers table's comparison, its statuses, the best lever above the floor, the front."""

import math

import pandas as pd
import pytest

from vidcarbon.analysis.levers import best_levers, lever_rows, pareto_front
from vidcarbon.grid import Cell
from vidcarbon.quality.fidelity import Fidelity
from vidcarbon.tables import LEVER_FIGURES, check_rows

BASE = Cell("m", "p0123456789", "144p", 8, 16, 0)
LEVERED = {name: Cell("m", "p0123456789", "144p", 8, 16, 0, lever=name) for name in "abc"}
SCALE = {"baseline": 1.0, "a": 0.5, "b": 0.8, "c": 0.3}


def cells_and_carbon(status=None):
    status = status or {}
    runs, carbon = [], []
    for cell in (BASE, *LEVERED.values()):
        scale = SCALE[cell.lever]
        keys = {
            "cell_id": cell.cell_id,
            "model": cell.model,
            "prompt_id": cell.prompt,
            "resolution": cell.resolution,
            "frames": cell.frames,
            "steps": cell.steps,
            "seed": cell.seed,
            "lever": cell.lever,
            "gpus": cell.gpus,
            "ulysses_degree": cell.ulysses,
            "ring_degree": cell.ring,
        }
        ok = status.get(cell.lever, "ok")
        runs.append(
            {
                **keys,
                "status": ok,
                "error": None if ok == "ok" else "out of memory",
                "steps_run": 16,
                "device_name": "cpu-x",
                "cpu_method": "estimated",
                **{n: 10.0 * scale for n, *_ in LEVER_FIGURES if not n.endswith("_g")},
            }
        )
        for scenario, intensity in (("gas", 490.0), ("wind", 11.0)):
            for source, default in (("act", True), ("other", False)):
                carbon.append(
                    {
                        **keys,
                        "status": ok,
                        "scenario": scenario,
                        "intensity_g_per_kwh": intensity,
                        "embodied_source": source,
                        "embodied_default": default,
                        **{
                            n: intensity * scale * (1 if default else 2)
                            for n, *_ in LEVER_FIGURES
                            if n.endswith("_g")
                        },
                        "energy_j": 10.0 * scale,
                        "generation_duration_s": 10.0 * scale,
                    }
                )
    return pd.DataFrame(runs), pd.DataFrame(carbon)


def test_each_lever_cell_and_scenario_beside_its_baseline_with_the_headline_carbon():
    runs, carbon = cells_and_carbon()
    fidelity = {LEVERED["a"].cell_id: Fidelity(math.inf, 1.0)}
    rows = lever_rows(runs, carbon, fidelity, {"a": "cache:x"})
    check_rows("levers", rows)
    assert len(rows) == 3 * 2  # three lever cells x two scenarios, one embodied source
    a_gas = next(r for r in rows if r["lever"] == "a" and r["scenario"] == "gas")
    assert a_gas["baseline_cell_id"] == BASE.cell_id and a_gas["lever_kinds"] == "cache:x"
    assert a_gas["total_g"] == 245.0 and a_gas["baseline_total_g"] == 490.0  # ACT's, not other
    assert a_gas["carbon_saved_g"] == 245.0 and a_gas["carbon_saved_fraction"] == 0.5
    assert a_gas["energy_saved_j"] == 5.0 and a_gas["denoise_energy_saved_j"] == 5.0
    assert math.isinf(a_gas["psnr_db"]) and a_gas["ssim"] == 1.0
    assert "psnr_db" not in next(r for r in rows if r["lever"] == "b")  # no fidelity: null


@pytest.mark.parametrize(("failed", "status"), [("a", "lever oom"), ("baseline", "baseline oom")])
def test_a_failed_cell_gives_a_row_with_its_status_and_no_figures(failed, status):
    runs, carbon = cells_and_carbon({failed: "oom"})
    rows = [r for r in lever_rows(runs, carbon, {}, {}) if r["lever"] == "a"]
    assert {r["status"] for r in rows} == {status}
    assert all(r["error"] == "out of memory" and "energy_saved_j" not in r for r in rows)


def test_the_best_lever_is_the_one_saving_most_above_the_fidelity_floor():
    levers = pd.DataFrame(
        {
            "model": ["m"] * 4,
            "lever": ["a", "a", "b", "c"],
            "cell_id": ["1", "2", "3", "4"],
            "scenario": ["gas"] * 4,
            "status": ["ok"] * 4,
            "carbon_saved_g": [5.0, 3.0, 9.0, 2.0],
            "carbon_saved_fraction": [0.5, 0.3, 0.9, 0.2],
            "ssim": [0.95, 0.85, 0.4, 0.99],
        }
    )
    best = best_levers(levers, "gas", floor_ssim=0.8)
    # b saves most but falls below the floor; a's lowest SSIM over its cells is 0.85
    assert best.lever.tolist() == ["a"] and best.carbon_saved_g.iloc[0] == 4.0
    assert best.cells.iloc[0] == 2 and best.ssim.iloc[0] == 0.85
    assert pareto_front(levers, "carbon_saved_fraction", "ssim").tolist() == [
        True,
        False,
        True,
        True,
    ]


def test_fidelity_is_stored_and_reused_while_both_videos_are_unchanged(tmp_path, monkeypatch):
    """A carbon-only change reruns the levers table: the videos are not decoded again."""
    import numpy as np

    from vidcarbon.analysis import levers
    from vidcarbon.video import write_mp4

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (4, 32, 48, 3), dtype=np.uint8)
    lever = LEVERED[next(iter(LEVERED))]
    paths = {c.cell_id: tmp_path / "videos" / f"{c.lever}.mp4" for c in (BASE, lever)}
    for path in paths.values():
        path.parent.mkdir(exist_ok=True)
        write_mp4(path, frames, 8)
    runs = pd.DataFrame(
        {
            "cell_id": list(paths),
            "lever": [BASE.lever, lever.lever],
            "status": "ok",
            "video_path": [str(p) for p in paths.values()],
        }
    )
    stored = tmp_path / "fidelity"
    first = levers.video_fidelity(runs, stored)[lever.cell_id]
    assert first == Fidelity(psnr_db=math.inf, ssim=1.0)  # the same frames
    assert (stored / f"{lever.cell_id}.json").is_file()

    def decoded(*args):
        raise AssertionError("a stored fidelity was computed again")

    monkeypatch.setattr(levers, "fidelity", decoded)
    assert levers.video_fidelity(runs, stored)[lever.cell_id] == first
    write_mp4(paths[lever.cell_id], frames[::-1].copy(), 8)  # the lever's video changed
    monkeypatch.undo()
    again = levers.video_fidelity(runs, stored)[lever.cell_id]
    assert again.ssim < 1.0
