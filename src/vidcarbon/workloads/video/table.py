"""The video workload's records into the runs, steps and traces tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.records import read_json
from vidcarbon.tables import COMPONENTS, PHASES, RUNS, STEPS, write_table
from vidcarbon.workloads.rows import (
    add_phases,
    idle_by_device,
    job_columns,
    load_and_warmup,
    table_provenance,
    take,
    windows,
)

# The windows a power sample is labelled with (a step lies inside `denoise`).
TOP_LEVEL_WINDOWS = ("load", "warmup", "encode", "denoise", "decode", "idle")


def run_row(gen: dict, enc: dict, idle: dict[str, Any]) -> dict[str, Any]:
    """One runs-table row: a cell's generate record with its prompt's encode record (the
    text phase); status, shape, per-phase time and energy.

    `idle`: the idle_baseline record of the cell's device ({} if none)."""
    gen_w, enc_w = windows(gen), windows(enc)
    row = take(gen, RUNS)
    if enc.get("status", "ok") != "ok" and gen["status"] == "ok":
        row.update(status=enc["status"], error=f"text encoding: {enc.get('error')}")
    row.update(
        prompt=enc.get("prompt"),
        text_tokens=enc.get("text_tokens"),
        **job_columns(
            gen, idle, ("dtype", "attention", "params_transformer"), *([enc] if enc else [])
        ),
        **load_and_warmup(gen_w),
        model_reused=(
            None if gen.get("model_loaded_by") is None else gen["model_loaded_by"] != gen["run_id"]
        ),
    )
    phase_windows = {p: (enc_w if p == "encode" else gen_w).get(p) for p in PHASES}
    add_phases(row, phase_windows, idle, "generation_duration_s")
    return row


def step_rows(gen: dict) -> list[dict[str, Any]]:
    """One steps-table row per `step_i` window of a generate record."""
    rows = []
    for w in gen.get("windows", []):
        if not w["name"].startswith("step_"):
            continue
        rows.append(
            {
                **take(gen, STEPS),
                "step_index": int(w["name"].removeprefix("step_")),
                "duration_s": w["duration_s"],
                **{f"{c}_energy_j": w["energy_j"].get(c) for c in COMPONENTS},
                "energy_j": sum(w["energy_j"].values()),
            }
        )
    return rows


def trace_rows(record: dict, job_id: str) -> list[dict[str, Any]]:
    """The job's power samples, each labelled with the top-level window it fell in."""
    spans = [
        (w["start_s"], w["start_s"] + w["duration_s"], w["name"])
        for w in record.get("windows", [])
        if w["name"] in TOP_LEVEL_WINDOWS
    ]
    rows = []
    for t_s, component, power_w in record.get("trace", []):
        phase = next((name for start, end, name in spans if start <= t_s <= end), "other")
        rows.append(
            {
                "run_id": record["run_id"],
                "job_id": job_id,
                "job_kind": record["kind"],
                "t_s": t_s,
                "component": component,
                "power_w": power_w,
                "phase": phase,
            }
        )
    return rows


def collect(
    generate_records: list[str | Path],
    encode_records: list[str | Path],
    idle_records: list[str | Path],
    runs_path: str | Path,
    steps_path: str | Path,
    traces_path: str | Path,
    config_hash: str,
) -> None:
    """Write runs.parquet, steps.parquet and traces.parquet from the jobs' records (all three
    with the runs' hosts and devices in their metadata)."""
    encodes = {}
    for path in encode_records:
        rec = read_json(path)
        encodes[(rec["model"], rec["prompt_id"])] = rec
    idle = idle_by_device(idle_records)
    runs, steps, traces = [], [], []
    for rec in encodes.values():
        traces += trace_rows(rec, f"{rec['model']}/{rec['prompt_id']}/encode")
    for path in generate_records:
        gen = read_json(path)
        enc = encodes.get((gen["model"], gen["prompt_id"]), {})
        runs.append(run_row(gen, enc, idle.get(gen.get("device"), {})))
        steps += step_rows(gen)
        traces += trace_rows(gen, gen["cell_id"])
    meta = table_provenance(config_hash, runs)
    write_table("runs", runs, runs_path, meta)
    write_table("steps", steps, steps_path, meta)
    write_table("traces", traces, traces_path, meta)
