"""Collect per-job records into the runs, steps and traces tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.records import read_json
from vidcarbon.tables import COMPONENTS, PHASES, provenance, write_table

TOP_LEVEL_WINDOWS = ("load", "warmup", "encode", "denoise", "decode", "idle")


def _windows(record: dict) -> dict[str, dict]:
    return {w["name"]: w for w in record.get("windows", [])}


def _phase_columns(phase: str, window: dict | None, idle_w: dict[str, float]) -> dict[str, Any]:
    cols: dict[str, Any] = {f"{phase}_duration_s": None, f"{phase}_energy_j": None}
    cols.update({f"{phase}_{c}_energy_j": None for c in COMPONENTS})
    cols[f"{phase}_net_energy_j"] = None
    if window is None:
        return cols
    duration_s, energy = window["duration_s"], window["energy_j"]
    cols[f"{phase}_duration_s"] = duration_s
    for component, joules in energy.items():
        cols[f"{phase}_{component}_energy_j"] = joules
    cols[f"{phase}_energy_j"] = sum(energy.values())
    cols[f"{phase}_net_energy_j"] = sum(
        joules - idle_w.get(component, 0.0) * duration_s for component, joules in energy.items()
    )
    return cols


def _sum_or_none(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def idle_subtraction(methods: dict[str, str], idle: dict[str, Any]) -> str | None:
    """Per component of the row: whether its idle power was subtracted, and why not."""
    idle_w, not_applicable = idle.get("idle_power_w", {}), idle.get("idle_not_applicable", [])
    words = []
    for component in methods:
        if component in idle_w:
            words.append(f"{component}: subtracted")
        elif component in not_applicable:
            words.append(f"{component}: not applicable")
        else:
            words.append(f"{component}: no idle measurement")
    return "; ".join(words) or None


def measurement_columns(record: dict, idle: dict[str, Any], *also: dict) -> dict[str, Any]:
    """The columns every measured row carries (runs, images, llm): how each component was
    measured, its idle power, whether a device-wide counter was shared with another process,
    the host CPU of the estimate, the phase state and the attempt. `also`: other jobs whose
    windows the row holds (a cell's text encoding), whose sharing and phase state count too."""
    methods = record.get("methods", {})
    idle_w = idle.get("idle_power_w", {})
    shared: dict[str, list[str]] = {}
    for rec in (record, *also):
        for component, why in rec.get("shared", {}).items():
            shared.setdefault(component, []).extend([why] if why else [])
    states = {rec["phase_state"] for rec in (record, *also) if rec.get("phase_state")}
    details = sorted({why for whys in shared.values() for why in whys})
    history = record.get("history", [])
    return {
        **{f"{c}_method": methods.get(c) for c in COMPONENTS},
        **{f"idle_{c}_power_w": idle_w.get(c) if c in methods else None for c in COMPONENTS},
        "idle_subtraction": idle_subtraction(methods, idle),
        **{f"{c}_shared": bool(shared[c]) if c in shared else None for c in COMPONENTS},
        "shared_detail": "; ".join(details) or None,
        "other_cpu_load": record.get("other_cpu_load"),
        "device_id": record.get("device_id"),
        "device_wait_s": record.get("device_wait_s"),
        "cpu_model": record.get("cpu_model"),
        "cpu_power_per_core_w": record.get("cpu_power_per_core_w"),
        "cpu_estimate_source": record.get("cpu_estimate_source"),
        "phase_state": states.pop() if len(states) == 1 else ("mixed" if states else None),
        "attempt": len(history) + 1,
        "previous_statuses": ",".join(h["status"] for h in history) or None,
    }


def run_row(gen: dict, enc: dict, idle: dict[str, Any]) -> dict[str, Any]:
    """One runs-table row: a cell's identity, status, and per-phase time and energy.

    `idle`: the idle_baseline record of the cell's device ({} if none)."""
    gen_w, enc_w = _windows(gen), _windows(enc)
    idle_w = idle.get("idle_power_w", {})
    info = gen.get("model_info", {})
    device_names = gen.get("device_names", {})
    status, error = gen["status"], gen.get("error")
    if enc.get("status", "ok") != "ok" and status == "ok":
        status, error = enc["status"], f"text encoding: {enc.get('error')}"
    row = {
        key: gen.get(key)
        for key in ("run_id", "cell_id", "model", "prompt_id", "resolution", "frames")
    }
    row.update(
        {
            key: gen.get(key)
            for key in (
                "steps",
                "seed",
                "backend",
                "height",
                "width",
                "latent_height",
                "latent_width",
                "tokens_per_frame",
                "fps",
                "video_duration_s",
                "hostname",
                "slurm_job_id",
                "device",
                "threads",
                "video_path",
                "started_at",
            )
        }
    )
    row.update(
        prompt=enc.get("prompt"),
        status=status,
        error=error,
        device_name=device_names.get("gpu", device_names.get("cpu")),
        dtype=info.get("dtype"),
        attention=info.get("attention"),
        params_transformer=info.get("params_transformer"),
        text_tokens=enc.get("text_tokens"),
        **measurement_columns(gen, idle, *([enc] if enc else [])),
        load_duration_s=gen_w.get("load", {}).get("duration_s"),
        warmup_duration_s=gen_w.get("warmup", {}).get("duration_s"),
        warmup_energy_j=_sum_or_none(gen_w.get("warmup", {}).get("energy_j", {}).values()),
    )
    for phase in PHASES:
        window = (enc_w if phase == "encode" else gen_w).get(phase)
        row.update(_phase_columns(phase, window, idle_w))
    complete = all(row[f"{p}_duration_s"] is not None for p in PHASES)
    row["generation_duration_s"] = sum(row[f"{p}_duration_s"] for p in PHASES) if complete else None
    row["energy_j"] = sum(row[f"{p}_energy_j"] for p in PHASES) if complete else None
    row["net_energy_j"] = sum(row[f"{p}_net_energy_j"] for p in PHASES) if complete else None
    return row


def step_rows(gen: dict) -> list[dict[str, Any]]:
    rows = []
    keys = ("run_id", "cell_id", "model", "prompt_id", "resolution", "frames", "steps", "seed")
    for w in gen.get("windows", []):
        if not w["name"].startswith("step_"):
            continue
        rows.append(
            {
                **{k: gen[k] for k in keys},
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
    """Write runs.parquet, steps.parquet and traces.parquet from the jobs' records."""
    encodes = {}
    for path in encode_records:
        rec = read_json(path)
        encodes[(rec["model"], rec["prompt_id"])] = rec
    idle = {}
    for path in idle_records:
        rec = read_json(path)
        idle[rec["device"]] = rec
    runs, steps, traces = [], [], []
    for rec in encodes.values():
        traces += trace_rows(rec, f"{rec['model']}/{rec['prompt_id']}/encode")
    for path in generate_records:
        gen = read_json(path)
        enc = encodes.get((gen["model"], gen["prompt_id"]), {})
        runs.append(run_row(gen, enc, idle.get(gen.get("device"), {})))
        steps += step_rows(gen)
        traces += trace_rows(gen, gen["cell_id"])
    hostnames = [r["hostname"] for r in runs if r["hostname"]]
    devices = [r["device_name"] for r in runs if r["device_name"]]
    meta = provenance(config_hash, hostnames, devices)
    write_table("runs", runs, runs_path, meta)
    write_table("steps", steps, steps_path, meta)
    write_table("traces", traces, traces_path, meta)
