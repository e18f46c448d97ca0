"""Collect the llm_request and generate_image records into llm.parquet and images.parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.collect import _phase_columns, measurement_columns
from vidcarbon.images import image_row
from vidcarbon.records import read_json
from vidcarbon.tables import provenance, write_table

LLM_PHASES = ("prefill", "decode")


def request_rows(record: dict[str, Any], idle: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per request of a shard record; batch windows are split by each request's share.

    `idle`: the idle_baseline record of the job's device ({} if none)."""
    windows = {w["name"]: w for w in record.get("windows", [])}
    idle_w = idle.get("idle_power_w", {})
    info = record.get("model_info", {})
    names = record.get("device_names", {})
    shared = {key: record.get(key) for key in ("llm", "weights", "shard", "hostname", "device")}
    shared.update(
        llm_model=record.get("llm_model"),
        device_name=names.get("gpu", names.get("cpu")),
        dtype=info.get("dtype"),
        params=info.get("params"),
        context_tokens=info.get("context_tokens"),
        threads=record.get("threads"),
        started_at=record.get("started_at"),
        load_duration_s=windows.get("load", {}).get("duration_s"),
        **measurement_columns(record, idle),
    )
    rows = []
    for req in record.get("requests", []):
        row = dict(shared)
        row.update(
            {
                key: req.get(key)
                for key in (
                    "dataset",
                    "prompt_id",
                    "row_index",
                    "batch_index",
                    "batch_size",
                    "input_tokens",
                    "output_tokens",
                    "length_policy",
                    "max_new_tokens",
                    "stop_reason",
                    "status",
                    "error",
                )
            }
        )
        for phase in LLM_PHASES:
            cols = _phase_columns(phase, windows.get(req.get(f"{phase}_window") or ""), idle_w)
            share = req.get(f"{phase}_share") or 0.0
            for key, value in cols.items():
                scaled = value is not None and key.endswith("_energy_j")
                row[key] = value * share if scaled else value
        complete = row["status"] == "ok" and all(
            row[f"{p}_duration_s"] is not None for p in LLM_PHASES
        )
        for total, column in (
            ("duration_s", "duration_s"),
            ("energy_j", "energy_j"),
            ("net_energy_j", "net_energy_j"),
        ):
            row[total] = sum(row[f"{p}_{column}"] for p in LLM_PHASES) if complete else None
        tokens = row["output_tokens"]
        row["energy_per_output_token_j"] = row["energy_j"] / tokens if complete and tokens else None
        rows.append(row)
    return rows


def _idle(idle_records: list[str | Path]) -> dict[str, dict[str, Any]]:
    """device -> its idle_baseline record."""
    return {(rec := read_json(path))["device"]: rec for path in idle_records}


def collect_llm(
    request_records: list[str | Path],
    idle_records: list[str | Path],
    llm_path: str | Path,
    config_hash: str,
) -> None:
    """Write llm.parquet: one row per request of every (llm, dataset, shard) record."""
    idle = _idle(idle_records)
    rows = []
    for path in request_records:
        record = read_json(path)
        rows += request_rows(record, idle.get(record.get("device"), {}))
    meta = provenance(
        config_hash,
        [r["hostname"] for r in rows if r["hostname"]],
        [r["device_name"] for r in rows if r["device_name"]],
    )
    write_table("llm", rows, llm_path, meta)


def collect_images(
    image_records: list[str | Path],
    idle_records: list[str | Path],
    images_path: str | Path,
    config_hash: str,
) -> None:
    """Write images.parquet: one row per generated image."""
    idle = _idle(idle_records)
    rows = []
    for path in image_records:
        record = read_json(path)
        rows.append(image_row(record, idle.get(record.get("device"), {})))
    meta = provenance(
        config_hash,
        [r["hostname"] for r in rows if r["hostname"]],
        [r["device_name"] for r in rows if r["device_name"]],
    )
    write_table("images", rows, images_path, meta)
