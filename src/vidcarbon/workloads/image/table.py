"""The image workload's records into the rows of the images table (collected by
`vidcarbon.workloads.rows.collect_table`)."""

from __future__ import annotations

from typing import Any

from vidcarbon.tables import IMAGES, PHASES
from vidcarbon.workloads.rows import (
    add_phases,
    job_columns,
    load_and_warmup,
    take,
    windows,
)


def image_row(record: dict[str, Any], idle: dict[str, Any]) -> dict[str, Any]:
    """One images-table row: identity, status, per-phase time and energy (gross and net).

    `idle`: the idle_baseline record of the job's device ({} if none)."""
    job_windows = windows(record)
    row = take(record, IMAGES)
    row.update(
        **job_columns(record, idle, ("dtype", "params_transformer")),
        **load_and_warmup(job_windows),
    )
    add_phases(row, {p: job_windows.get(p) for p in PHASES}, idle, "generation_duration_s")
    return row


def image_rows(record: dict[str, Any], idle: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one image record (one), for `vidcarbon.workloads.rows.collect_table`."""
    return [image_row(record, idle)]
