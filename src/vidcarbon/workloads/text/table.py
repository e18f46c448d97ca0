"""The text workload's records into the rows of the llm table, one per request of a shard
(collected by `vidcarbon.workloads.rows.collect_table`)."""

from __future__ import annotations

from typing import Any

from vidcarbon.tables import LLM, LLM_PHASES
from vidcarbon.workloads.rows import (
    add_totals,
    all_measured,
    job_columns,
    model_reused,
    phase_values,
    take,
    windows,
)


def request_rows(record: dict[str, Any], idle: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per request of a shard record; batch windows are split by each request's share.

    `idle`: the idle_baseline record of the job's device ({} if none)."""
    job_windows = windows(record)
    idle_w = idle.get("idle_power_w", {})
    shared = take(record, LLM)
    shared.update(
        **job_columns(record, idle, ("dtype", "params", "context_tokens")),
        load_duration_s=job_windows.get("load", {}).get("duration_s"),
        model_reused=model_reused(record),
    )
    rows = []
    for req in record.get("requests", []):
        row = {**shared, **take(req, LLM)}
        for phase in LLM_PHASES:
            cols = phase_values(phase, job_windows.get(req.get(f"{phase}_window") or ""), idle_w)
            share = req.get(f"{phase}_share") or 0.0
            for key, value in cols.items():
                scaled = value is not None and key.endswith("_energy_j")
                row[key] = value * share if scaled else value
        complete = row["status"] == "ok" and all_measured(row, LLM_PHASES)
        add_totals(row, LLM_PHASES, "duration_s", complete)
        tokens = row.get("output_tokens")
        row["energy_per_output_token_j"] = row["energy_j"] / tokens if complete and tokens else None
        rows.append(row)
    return rows
