"""Rows whose device-wide counter another process drove are left out of the analysis."""

import pandas as pd

from vidcarbon.analysis.shared_counters import note, shared, without_cells, without_shared


def test_flagged_rows_and_their_cells_are_left_out_with_a_note():
    runs = pd.DataFrame(
        {
            "cell_id": ["a", "b", "c", "d"],
            "gpu_shared": [False, True, None, None],
            "cpu_shared": [False, False, True, None],  # d: per-process estimate, never shared
        }
    )
    assert shared(runs).tolist() == [False, True, True, False]
    kept, left_out = without_shared(runs)
    assert list(kept.cell_id) == ["a", "d"] and left_out == 2
    carbon = pd.DataFrame({"cell_id": ["a", "b", "c", "d", "a"], "scenario": list("xxxxy")})
    assert list(without_cells(carbon, runs).cell_id) == ["a", "d", "a"]
    assert note(2).startswith("2 cells left out: another process drove a device-wide")
    assert note(0) == ""


def test_tables_without_the_flags_keep_every_row():
    old = pd.DataFrame({"cell_id": ["a"], "energy_j": [1.0]})
    assert without_shared(old)[1] == 0
