"""The image workload's records into the rows of the images table (collected by
`vidcarbon.workloads.rows.collect_table`)."""

from __future__ import annotations

from typing import Any

from vidcarbon.tables import IMAGES, PHASES
from vidcarbon.workloads.rows import (
    add_totals,
    all_measured,
    device_name,
    load_and_warmup,
    measurement_columns,
    phase_values,
    take,
    windows,
)


def image_row(record: dict[str, Any], idle: dict[str, Any]) -> dict[str, Any]:
    """One images-table row: identity, status, per-phase time and energy (gross and net).

    `idle`: the idle_baseline record of the job's device ({} if none)."""
    job_windows = windows(record)
    info = record.get("model_info", {})
    row = take(record, IMAGES)
    row.update(
        device_name=device_name(record),
        dtype=info.get("dtype"),
        params_transformer=info.get("params_transformer"),
        **measurement_columns(record, idle),
        **load_and_warmup(job_windows),
    )
    idle_w = idle.get("idle_power_w", {})
    for phase in PHASES:
        row.update(phase_values(phase, job_windows.get(phase), idle_w))
    add_totals(row, PHASES, "generation_duration_s", all_measured(row, PHASES))
    return row


def image_rows(record: dict[str, Any], idle: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one image record (one), for `vidcarbon.workloads.rows.collect_table`."""
    return [image_row(record, idle)]
