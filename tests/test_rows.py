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
    same(step_rows(generate), EXPECTED["steps"])
    same(trace_rows(generate, generate["cell_id"]), EXPECTED["traces"])
    assert set(EXPECTED["steps"][0]) <= set(SCHEMAS["steps"].names)
