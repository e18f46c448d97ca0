"""From job records to table rows, the parts every workload shares.

A row is built from its table's schema: `take` copies every column that the record holds
under the column's own name (the identity a job's spec gives it, status, host, threads, ...),
and the functions below compute the column groups of `vidcarbon.tables` that every measured
row carries: per-phase time and energy, the phases' totals, methods and idle power, and the
measurement's provenance. A workload's `table` module adds what is its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from vidcarbon import tables
from vidcarbon.records import read_json
from vidcarbon.tables import COMPONENTS, PhaseColumns


def take(record: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """The columns of `schema` that `record` holds, under their own names."""
    return {name: record[name] for name in schema.names if name in record}


def windows(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A record's measured windows by name."""
    return {w["name"]: w for w in record.get("windows", [])}


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def phase_values(phase: str, window: dict | None, idle_w: dict[str, float]) -> dict[str, Any]:
    """The per-phase columns of `phase` from its window (all null: not measured); net energy
    subtracts each component's idle power over the window."""
    names = PhaseColumns(phase)
    cols: dict[str, Any] = {names.duration: None, names.energy: None}
    cols.update({names.component(c): None for c in COMPONENTS})
    cols[names.net_energy] = None
    if window is None:
        return cols
    duration_s, energy = window["duration_s"], window["energy_j"]
    cols[names.duration] = duration_s
    for component, joules in energy.items():
        cols[names.component(component)] = joules
    cols[names.energy] = sum(energy.values())
    cols[names.net_energy] = sum(
        joules - idle_w.get(component, 0.0) * duration_s for component, joules in energy.items()
    )
    return cols


def add_totals(row: dict[str, Any], phases: Iterable[str], duration: str, complete: bool) -> None:
    """Set the totals columns (`duration`, energy_j, net_energy_j) of `row` to the sums over
    `phases`, or null unless `complete`."""
    phases = [PhaseColumns(p) for p in phases]
    for total, of in (
        (duration, lambda p: p.duration),
        ("energy_j", lambda p: p.energy),
        ("net_energy_j", lambda p: p.net_energy),
    ):
        row[total] = sum(row[of(p)] for p in phases) if complete else None


def add_phases(
    row: dict[str, Any],
    phase_windows: dict[str, dict | None],
    idle: dict[str, Any],
    duration: str,
) -> None:
    """Set the per-phase columns of every phase of `phase_windows` (phase -> its window or
    None) and their totals, which need every phase measured."""
    idle_w = idle.get("idle_power_w", {})
    for phase, window in phase_windows.items():
        row.update(phase_values(phase, window, idle_w))
    add_totals(row, phase_windows, duration, all_measured(row, phase_windows))


def all_measured(row: dict[str, Any], phases: Iterable[str]) -> bool:
    """Whether every phase of `phases` has a measured window in `row`."""
    return all(row[PhaseColumns(p).duration] is not None for p in phases)


def load_and_warmup(job_windows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The LOAD and WARMUP columns: model load time, the warm-up pass's time and energy."""
    warmup = job_windows.get("warmup", {})
    return {
        "load_duration_s": job_windows.get("load", {}).get("duration_s"),
        "warmup_duration_s": warmup.get("duration_s"),
        "warmup_energy_j": _sum_or_none(warmup.get("energy_j", {}).values()),
    }


def model_reused(record: dict[str, Any]) -> bool | None:
    """Whether an earlier job of the same process had loaded the job's model (MODEL_LOAD);
    None where the record does not say who loaded it."""
    loaded_by = record.get("model_loaded_by")
    return None if loaded_by is None else loaded_by != record["run_id"]


def device_name(record: dict[str, Any]) -> str | None:
    """The GPU's name, else the CPU's, as the job's meter named them."""
    names = record.get("device_names", {})
    return names.get("gpu", names.get("cpu"))


def job_columns(
    record: dict[str, Any], idle: dict[str, Any], info: tuple[str, ...], *also: dict
) -> dict[str, Any]:
    """What every measured row says of its job: the device's name, the keys `info` of the
    model's description (columns of the same names), and `measurement_columns`."""
    model_info = record.get("model_info", {})
    return {
        "device_name": device_name(record),
        **{key: model_info.get(key) for key in info},
        **measurement_columns(record, idle, *also),
    }


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
    """The METHODS_AND_IDLE and MEASUREMENT_PROVENANCE columns every measured row carries:
    how each component was measured, its idle power, whether a device-wide counter was shared
    with another process, the host CPU of the estimate, the phase state and the attempt.
    `also`: other jobs whose windows the row holds (a cell's text encoding), whose sharing
    and phase state count too."""
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
        **{tables.method_column(c): methods.get(c) for c in COMPONENTS},
        **{
            tables.idle_power_column(c): idle_w.get(c) if c in methods else None for c in COMPONENTS
        },
        "idle_subtraction": idle_subtraction(methods, idle),
        **{tables.shared_column(c): bool(shared[c]) if c in shared else None for c in COMPONENTS},
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


def idle_by_device(idle_records: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """device -> its idle_baseline record."""
    return {(rec := read_json(path))["device"]: rec for path in idle_records}


def table_provenance(config_hash: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The metadata of a table of measured rows: the hosts and devices they ran on."""
    return tables.provenance(
        config_hash,
        [r["hostname"] for r in rows if r.get("hostname")],
        [r["device_name"] for r in rows if r.get("device_name")],
    )


def collect_table(
    name: str,
    records: Iterable[str | Path],
    idle_records: Iterable[str | Path],
    rows_of: Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]],
    path: str | Path,
    config_hash: str,
) -> None:
    """Write table `name`: the rows `rows_of(record, idle record of its device)` of every
    record file."""
    idle = idle_by_device(idle_records)
    rows = []
    for record_path in records:
        record = read_json(record_path)
        rows += rows_of(record, idle.get(record.get("device"), {}))
    tables.write_table(name, rows, path, table_provenance(config_hash, rows))
