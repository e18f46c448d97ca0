"""Rows from records: the workloads' row builders make, from the same job records, the rows
they made before the restructuring (tests/data/records/README.md), column for column."""

import json

import pytest

from tests.conftest import REPO
from vidcarbon.tables import SCHEMAS, check_rows
from vidcarbon.workloads.image.table import image_row
from vidcarbon.workloads.text.table import request_rows
from vidcarbon.workloads.video.table import run_row, step_rows, trace_rows

DATA = REPO / "tests" / "data" / "records"
EXPECTED = json.loads((DATA / "expected_rows.json").read_text())


def record(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def same(rows: list[dict], expected: list[dict]) -> None:
    """Equal rows, a missing key counting as null (pyarrow writes both as null)."""
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert {k: v for k, v in row.items() if v is not None} == {
            k: v for k, v in want.items() if v is not None
        }


@pytest.mark.parametrize("idle", ["idle", "idle_subtracted"])
def test_measured_rows_are_what_they_were(idle):
    expected, idle_record = EXPECTED[idle], record(idle)
    runs = [run_row(record("generate"), record("encode"), idle_record)]
    images = [image_row(record("image"), idle_record)]
    llm = request_rows(record("llm"), idle_record)
    same(runs, expected["runs"])
    same(images, expected["images"])
    same(llm, expected["llm"])
    for name, rows in (("runs", runs), ("images", images), ("llm", llm)):
        check_rows(name, rows)  # every key a column of its table
    if idle == "idle_subtracted":  # 2 W of idle CPU power over each phase comes off
        row = runs[0]
        assert row["idle_subtraction"] == "cpu: subtracted" and row["idle_cpu_power_w"] == 2.0
        assert row["denoise_net_energy_j"] == pytest.approx(
            row["denoise_energy_j"] - 2.0 * row["denoise_duration_s"]
        )


def test_step_and_trace_rows_are_what_they_were():
    generate = record("generate")
    same(step_rows(generate, {}), EXPECTED["steps"])
    # a one-device job's samples are rank 0's (the column came with parallel cells)
    traces = [{**row, "rank": 0} for row in EXPECTED["traces"]]
    same(trace_rows(generate, generate["cell_id"]), traces)
    assert set(EXPECTED["steps"][0]) <= set(SCHEMAS["steps"].names)


def test_steps_shorter_than_two_counter_updates_are_flagged():
    generate = record("generate")
    steps = [w for w in generate["windows"] if w["name"].startswith("step_")]
    period_s = sorted(w["duration_s"] for w in steps)[len(steps) // 2] / 2  # half are below 2x
    idle = {"counter_update_period_s": {"gpu": period_s, "cpu": period_s / 10}}
    rows = step_rows(generate, idle)
    check_rows("steps", rows)
    assert {r["counter_update_period_s"] for r in rows} == {period_s}  # the slowest counter
    flagged = [r["below_counter_resolution"] for r in rows]
    assert flagged == [w["duration_s"] < 2 * period_s for w in steps]
    assert True in flagged and False in flagged
    # the flag changes no figure: the steps' energies are the windows', as without it
    unflagged = step_rows(generate, {})
    assert [r["energy_j"] for r in rows] == [r["energy_j"] for r in unflagged]
    # no period measured (a CPU-time estimate): nothing is flagged either way
    assert {r["below_counter_resolution"] for r in unflagged} == {None}
