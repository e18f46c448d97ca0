"""The video workload's records into the runs, steps and traces tables."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vidcarbon import tables
from vidcarbon.records import file_state, read_json, write_json_atomic
from vidcarbon.tables import (
    COMPONENTS,
    PHASES,
    RANK_PHASES,
    RANKS,
    RUNS,
    SCHEMAS,
    STEPS,
    provenance,
    with_study,
    write_arrow,
)
from vidcarbon.workloads import rows as row_builders
from vidcarbon.workloads.rows import (
    add_phases,
    add_totals,
    all_measured,
    device_name,
    idle_by_device,
    job_columns,
    load_and_warmup,
    model_reused,
    phase_values,
    take,
    windows,
)

# The layout of a record written before cells could run on several devices: one device.
ONE_DEVICE = {"gpus": 1, "ulysses_degree": 1, "ring_degree": 1}
# The windows a power sample is labelled with (a step lies inside `denoise`).
TOP_LEVEL_WINDOWS = ("load", "warmup", "encode", "denoise", "decode", "idle")


def on_devices(idle: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The idle record of one device scaled to the devices a record's windows add up
    (`device_counts` of a cell on several: N GPUs idle N times as much); unchanged on one."""
    counts = record.get("device_counts")
    if not counts or "idle_power_w" not in idle:
        return idle
    watts = {c: w * counts.get(c, 1) for c, w in idle["idle_power_w"].items()}
    return {**idle, "idle_power_w": watts}


def run_row(gen: dict, enc: dict, idle: dict[str, Any]) -> dict[str, Any]:
    """One runs-table row: a cell's generate record with its prompt's encode record (the
    text phase); status, shape, per-phase time and energy.

    `idle`: the idle_baseline record of the cell's device ({} if none); a cell on several
    devices subtracts the idle power of all of them from its generation phases."""
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
        model_reused=model_reused(gen),
    )
    phase_windows = {p: (enc_w if p == "encode" else gen_w).get(p) for p in PHASES}
    add_phases(row, phase_windows, idle, "generation_duration_s")
    if gen.get("device_counts"):  # the generation phases ran on every device of the cell
        scaled = on_devices(idle, gen)
        for phase in ("denoise", "decode"):
            row.update(phase_values(phase, phase_windows[phase], scaled.get("idle_power_w", {})))
        add_totals(row, PHASES, "generation_duration_s", all_measured(row, PHASES))
        row.update(
            {tables.idle_power_column(c): w for c, w in scaled.get("idle_power_w", {}).items()}
        )
    return row


def rank_rows(gen: dict) -> list[dict[str, Any]]:
    """One ranks-table row per rank of a cell on several devices (none on one device)."""
    rows = []
    for rank in gen.get("ranks", []):
        rank_w = {w["name"]: w for w in rank.get("windows") or []}
        row = {
            **take(gen, RANKS),
            **{k: rank.get(k) for k in ("rank", "status", "error", "hostname", "pid")},
            "device_id": rank.get("device_id"),
            "device_name": device_name(rank),
        }
        for phase in RANK_PHASES:
            values = phase_values(phase, rank_w.get(phase), {})
            values.pop(tables.PhaseColumns(phase).net_energy)
            row.update(values)
        measured = [row[tables.PhaseColumns(p).energy] for p in RANK_PHASES]
        row["energy_j"] = sum(measured) if None not in measured else None
        rows.append(row)
    own = "gpu" if any(r.get("denoise_gpu_energy_j") is not None for r in rows) else "cpu"
    own_j = [
        sum(r[f"{p}_{own}_energy_j"] or 0.0 for p in RANK_PHASES) if r["energy_j"] else None
        for r in rows
    ]
    total_j = sum(j for j in own_j if j) if None not in own_j else None
    for row, joules in zip(rows, own_j, strict=True):
        row["energy_share"] = joules / total_j if total_j else None
    return rows


def step_rows(gen: dict, idle: dict[str, Any]) -> list[dict[str, Any]]:
    """One steps-table row per `step_i` window of a generate record, each flagged where it is
    shorter than twice the update period of its device's counters (from `idle`, the device's
    idle_baseline record)."""
    periods = [p for p in (idle.get("counter_update_period_s") or {}).values() if p]
    period_s = max(periods) if periods else None
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
                "counter_update_period_s": period_s,
                "below_counter_resolution": None
                if period_s is None
                else w["duration_s"] < 2 * period_s,
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
    for t_s, component, power_w, *rank in record.get("trace", []):
        phase = next((name for start, end, name in spans if start <= t_s <= end), "other")
        rows.append(
            {
                "run_id": record["run_id"],
                "job_id": job_id,
                "job_kind": record["kind"],
                "t_s": t_s,
                "component": component,
                "rank": rank[0] if rank else 0,
                "power_w": power_w,
                "phase": phase,
            }
        )
    return rows


def _rows(gen: dict, enc: dict, idle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A cell's rows of the tables."""
    gen = {**ONE_DEVICE, **gen}
    device_idle = idle.get(gen.get("device"), {})
    return {
        "runs": [run_row(gen, enc, device_idle)],
        "steps": step_rows(gen, device_idle),
        "traces": trace_rows(gen, gen["cell_id"]),
        "ranks": rank_rows(gen),
    }


TABLES = ("runs", "steps", "traces", "ranks")
RECORD_COLUMN = "_record"  # the record a cached row came from (cache files only)


def builder_version() -> str:
    """What cached rows were built by: the schema version and the row builders' source, so
    that rows cached by other code are built again, never reused."""
    digest = hashlib.sha256(tables.SCHEMA_VERSION.encode())
    for module in (tables, row_builders, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _arrow(name: str, rows: list[dict[str, Any]], record: list[str]) -> pa.Table:
    tables.check_rows(name, rows)  # pyarrow would drop a key that is not a column
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name]).append_column(
        RECORD_COLUMN, pa.array(record, pa.string())
    )


def _partition(path: str | Path) -> str:
    """The cache partition of a cell record (results/cells/<model>/<prompt>/<res>_f..json):
    its model and resolution."""
    path = Path(path)
    return f"{path.parts[-3]}/{path.name.split('_', 1)[0]}"


def _collect_partition(
    records: list[str],
    states: dict[str, Any],
    encodes: dict,
    idle: dict,
    cache: Path | None,
) -> dict[str, pa.Table]:
    """The three tables of one partition's records: the rows of a record whose state (its
    file's, its prompt's encode record's and the idle record's size and mtime) is the one
    cached are read from the cache, the others' from their records; the cache is rewritten."""
    version, manifest = builder_version(), {}
    if cache is not None and cache.with_suffix(".json").is_file():
        stored = json.loads(cache.with_suffix(".json").read_text())
        manifest = stored["records"] if stored.get("builder") == version else {}
    kept = {p for p in records if manifest.get(p) == states[p]}
    rows: dict[str, list] = {name: [] for name in TABLES}
    origin: dict[str, list] = {name: [] for name in TABLES}
    for path in records:
        if path in kept:
            continue
        gen = read_json(path)
        enc = encodes.get((gen["model"], gen["prompt_id"]), {})
        for name, new in _rows(gen, enc, idle).items():
            rows[name] += new
            origin[name] += [path] * len(new)
    tables = {}
    for name in TABLES:
        new = _arrow(name, rows[name], origin[name])
        old_path = cache.with_name(f"{cache.name}.{name}.parquet") if cache else None
        if kept and old_path is not None and old_path.is_file():
            old = pq.read_table(old_path)
            old = old.filter(pc.is_in(old[RECORD_COLUMN], pa.array(sorted(kept))))
            new = pa.concat_tables([old.cast(new.schema), new])
        tables[name] = new
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        # no manifest while the tables are written: a torn cache is built again, not read
        cache.with_suffix(".json").unlink(missing_ok=True)
        for name, table in tables.items():
            pq.write_table(table, cache.with_name(f"{cache.name}.{name}.parquet"))
        stored = {"builder": version, "records": {p: states[p] for p in records}}
        write_json_atomic(cache.with_suffix(".json"), stored)
    return tables


def collect(
    generate_records: list[str | Path],
    encode_records: list[str | Path],
    idle_records: list[str | Path],
    runs_path: str | Path,
    steps_path: str | Path,
    traces_path: str | Path,
    config_hash: str,
    cache_dir: str | Path | None = None,
    ranks_path: str | Path | None = None,
) -> None:
    """Write runs.parquet, steps.parquet, traces.parquet and (with `ranks_path`)
    ranks.parquet, a row per rank of each cell on several devices, from the jobs' records
    (all with the runs' hosts and devices in their metadata).

    With `cache_dir`, each (model, resolution)'s rows are kept there with the state of the
    records they came from, so that a rerun reads only the records that are new or changed
    (cells added to the grid, a cell retried, a prompt encoded again) and the cache for the
    rest; the tables written are the same."""
    encodes, encode_state = {}, {}
    for path in encode_records:
        rec = read_json(path)
        encodes[(rec["model"], rec["prompt_id"])] = rec
        encode_state[(rec["model"], rec["prompt_id"])] = file_state(path)
    idle = idle_by_device(idle_records)
    idle_state = [file_state(p) for p in idle_records]
    partitions: dict[str, list[str]] = {}
    for path in map(str, generate_records):
        partitions.setdefault(_partition(path), []).append(path)
    parts = {name: [] for name in TABLES}
    for key, records in partitions.items():
        states = {}
        for path in records:
            model, prompt = Path(path).parts[-3:-1]
            states[path] = [file_state(path), encode_state.get((model, prompt)), idle_state]
        cache = Path(cache_dir) / key if cache_dir is not None else None
        for name, table in _collect_partition(records, states, encodes, idle, cache).items():
            parts[name].append(table.drop_columns([RECORD_COLUMN]))
    encode_traces = [
        row
        for rec in encodes.values()
        for row in trace_rows(rec, f"{rec['model']}/{rec['prompt_id']}/encode")
    ]
    parts["traces"].insert(0, pa.Table.from_pylist(encode_traces, schema=SCHEMAS["traces"]))
    meta = {}
    paths = (runs_path, steps_path, traces_path, ranks_path)
    for name, path in zip(TABLES, paths, strict=True):
        if path is None:
            continue
        table = pa.concat_tables(parts[name]) if parts[name] else SCHEMAS[name].empty_table()
        if name == "runs":
            meta = provenance(
                config_hash,
                [h for h in table["hostname"].to_pylist() if h],
                [d for d in table["device_name"].to_pylist() if d],
            )
        write_arrow(name, with_study(table, meta), path, meta)
