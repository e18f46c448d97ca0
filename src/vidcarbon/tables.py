"""The result tables: one pyarrow schema each, declared once, units in column names.

Files carry provenance in their Parquet key-value metadata and are written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vidcarbon import __version__
from vidcarbon.errors import SchemaMismatch

SCHEMA_VERSION = "1"
PHASES = ("encode", "denoise", "decode")
COMPONENTS = ("gpu", "cpu", "dram")

_CELL_KEYS = [
    pa.field("cell_id", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("resolution", pa.string(), nullable=False),
    pa.field("frames", pa.int32(), nullable=False),
    pa.field("steps", pa.int32(), nullable=False),
    pa.field("seed", pa.int64(), nullable=False),
]


def _phase_fields(phase: str) -> list[pa.Field]:
    return [
        pa.field(f"{phase}_duration_s", pa.float64()),
        *[pa.field(f"{phase}_{c}_energy_j", pa.float64()) for c in COMPONENTS],
        pa.field(f"{phase}_energy_j", pa.float64()),
        pa.field(f"{phase}_net_energy_j", pa.float64()),
    ]


RUNS = pa.schema(
    [
        *_CELL_KEYS,
        pa.field("backend", pa.string()),
        pa.field("prompt", pa.string()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("latent_height", pa.int32()),
        pa.field("latent_width", pa.int32()),
        pa.field("tokens_per_frame", pa.int32()),
        pa.field("fps", pa.int32()),
        pa.field("video_duration_s", pa.float64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("hostname", pa.string()),
        pa.field("device", pa.string()),
        pa.field("device_name", pa.string()),
        pa.field("dtype", pa.string()),
        pa.field("attention", pa.string()),
        pa.field("params_transformer", pa.int64()),
        pa.field("text_tokens", pa.int32()),
        pa.field("threads", pa.int32()),
        *[pa.field(f"{c}_method", pa.string()) for c in COMPONENTS],
        *[pa.field(f"idle_{c}_power_w", pa.float64()) for c in COMPONENTS],
        pa.field("load_duration_s", pa.float64()),
        pa.field("warmup_duration_s", pa.float64()),
        pa.field("warmup_energy_j", pa.float64()),
        *[f for phase in PHASES for f in _phase_fields(phase)],
        pa.field("generation_duration_s", pa.float64()),
        pa.field("energy_j", pa.float64()),
        pa.field("net_energy_j", pa.float64()),
        pa.field("video_path", pa.string()),
        pa.field("started_at", pa.string()),
    ]
)

STEPS = pa.schema(
    [
        *_CELL_KEYS,
        pa.field("step_index", pa.int32(), nullable=False),
        pa.field("duration_s", pa.float64()),
        *[pa.field(f"{c}_energy_j", pa.float64()) for c in COMPONENTS],
        pa.field("energy_j", pa.float64()),
    ]
)

TRACES = pa.schema(
    [
        pa.field("job_id", pa.string(), nullable=False),
        pa.field("job_kind", pa.string(), nullable=False),
        pa.field("t_s", pa.float64(), nullable=False),
        pa.field("component", pa.string(), nullable=False),
        pa.field("power_w", pa.float64()),
        pa.field("phase", pa.string()),
    ]
)


def _carbon_phase_fields(phase: str) -> list[pa.Field]:
    return [
        pa.field(f"{phase}_operational_g", pa.float64()),
        pa.field(f"{phase}_net_operational_g", pa.float64()),
        pa.field(f"{phase}_embodied_g", pa.float64()),
        pa.field(f"{phase}_carbon_g", pa.float64()),
    ]


# One row per (cell, intensity scenario). Carbon in g CO2e; null carbon where status != ok.
CARBON = pa.schema(
    [
        *_CELL_KEYS,
        pa.field("status", pa.string(), nullable=False),
        pa.field("device", pa.string()),
        pa.field("device_name", pa.string()),
        pa.field("height", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("video_duration_s", pa.float64()),
        pa.field("threads", pa.int32()),
        pa.field("measured_components", pa.string()),  # e.g. "gpu,cpu" (counter|integrated|rapl)
        pa.field("estimated_components", pa.string()),  # e.g. "cpu" (method = estimated)
        pa.field("scenario", pa.string(), nullable=False),
        pa.field("scenario_kind", pa.string(), nullable=False),  # source|number|country|timeseries
        pa.field("intensity_g_per_kwh", pa.float64(), nullable=False),
        pa.field("intensity_data_source", pa.string()),
        pa.field("intensity_data_year", pa.int32()),
        pa.field("region", pa.string()),
        pa.field("pue", pa.float64(), nullable=False),
        pa.field("lifetime_years", pa.float64(), nullable=False),
        pa.field("utilisation", pa.float64(), nullable=False),
        pa.field("embodied_device", pa.string(), nullable=False),
        pa.field("embodied_scope", pa.string(), nullable=False),  # gpu | node
        pa.field("embodied_unit", pa.string(), nullable=False),
        pa.field("unit_embodied_g", pa.float64(), nullable=False),
        pa.field("embodied_share", pa.float64(), nullable=False),  # 1, or threads / cores
        *[f for phase in PHASES for f in _carbon_phase_fields(phase)],
        pa.field("generation_duration_s", pa.float64()),
        pa.field("energy_j", pa.float64()),
        pa.field("net_energy_j", pa.float64()),
        pa.field("operational_g", pa.float64()),
        pa.field("net_operational_g", pa.float64()),
        pa.field("embodied_g", pa.float64()),
        pa.field("total_g", pa.float64()),
        pa.field("net_total_g", pa.float64()),
        pa.field("embodied_fraction", pa.float64()),
    ]
)

# The same job's carbon by hour of day and by month of an hourly intensity series.
CARBON_BY_TIME = pa.schema(
    [
        pa.field("scenario", pa.string(), nullable=False),
        pa.field("cell_id", pa.string(), nullable=False),
        pa.field("period_kind", pa.string(), nullable=False),  # hour_of_day | month
        pa.field("period", pa.int32(), nullable=False),
        pa.field("hours", pa.int32(), nullable=False),
        pa.field("intensity_g_per_kwh", pa.float64(), nullable=False),
        pa.field("operational_g", pa.float64(), nullable=False),
        pa.field("embodied_g", pa.float64(), nullable=False),
        pa.field("total_g", pa.float64(), nullable=False),
    ]
)

# Deferral of a job to the lowest-carbon feasible start within a deadline (means over submissions).
DEFERRAL = pa.schema(
    [
        pa.field("scenario", pa.string(), nullable=False),
        pa.field("cell_id", pa.string(), nullable=False),
        pa.field("generation_duration_s", pa.float64(), nullable=False),
        pa.field("deadline_h", pa.int32(), nullable=False),
        pa.field("submissions", pa.int32(), nullable=False),
        pa.field("mean_delay_h", pa.float64(), nullable=False),
        pa.field("immediate_intensity_g_per_kwh", pa.float64(), nullable=False),
        pa.field("deferred_intensity_g_per_kwh", pa.float64(), nullable=False),
        pa.field("immediate_total_g", pa.float64(), nullable=False),
        pa.field("deferred_total_g", pa.float64(), nullable=False),
        pa.field("saving_g", pa.float64(), nullable=False),
        pa.field("saving_fraction", pa.float64(), nullable=False),
    ]
)

# Carbon-aware credits per (model, resolution, frames, steps), relative to a reference config.
CREDITS = pa.schema(
    [
        pa.field("model", pa.string(), nullable=False),
        pa.field("resolution", pa.string(), nullable=False),
        pa.field("frames", pa.int32(), nullable=False),
        pa.field("steps", pa.int32(), nullable=False),
        pa.field("reference", pa.string(), nullable=False),
        pa.field("intensity_g_per_kwh", pa.float64(), nullable=False),
        pa.field("measured_energy_j", pa.float64()),
        pa.field("predicted_energy_j", pa.float64()),
        pa.field("predicted_duration_s", pa.float64()),
        pa.field("prediction_error", pa.float64()),  # predicted / measured energy - 1
        pa.field("predicted_carbon_g", pa.float64()),
        pa.field("carbon_ratio", pa.float64()),
        pa.field("credits", pa.float64()),
        pa.field("low_intensity_hours", pa.string()),
        pa.field("low_intensity_g_per_kwh", pa.float64()),
        pa.field("discount_factor", pa.float64()),
        pa.field("low_intensity_credits", pa.float64()),
        pa.field("note", pa.string()),
    ]
)

# The laws behind the credits: one row per coefficient, with 95 % CI, R² and points.
CREDIT_FITS = pa.schema(
    [
        pa.field("model", pa.string(), nullable=False),
        pa.field("quantity", pa.string(), nullable=False),  # energy_j | generation_duration_s
        pa.field("variable", pa.string(), nullable=False),  # steps | pixels | frames
        pa.field("law", pa.string(), nullable=False),  # linear | power
        pa.field("coefficient", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("ci95_low", pa.float64()),
        pa.field("ci95_high", pa.float64()),
        pa.field("r2", pa.float64()),
        pa.field("n", pa.int32()),
        pa.field("x_min", pa.float64()),
        pa.field("x_max", pa.float64()),
        pa.field("note", pa.string()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "runs": RUNS,
    "steps": STEPS,
    "traces": TRACES,
    "carbon": CARBON,
    "carbon_by_time": CARBON_BY_TIME,
    "deferral": DEFERRAL,
    "credits": CREDITS,
    "credit_fits": CREDIT_FITS,
}


def git_commit(cwd: str | Path = ".") -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(config_hash: str, hostnames: list[str], devices: list[str]) -> dict[str, str]:
    """Key-value metadata for a table file."""
    return {
        "vidcarbon.schema_version": SCHEMA_VERSION,
        "vidcarbon.package_version": __version__,
        "vidcarbon.git_commit": git_commit(),
        "vidcarbon.config_hash": config_hash,
        "vidcarbon.hostnames": json.dumps(sorted(set(hostnames))),
        "vidcarbon.devices": json.dumps(sorted(set(devices))),
        "vidcarbon.written_by": socket.gethostname(),
        "vidcarbon.created_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def write_table(name: str, rows: list[dict[str, Any]], path: str | Path, meta: dict[str, str]):
    """Write `rows` as table `name` to `path` atomically; returns the pyarrow Table."""
    schema = SCHEMAS[name]
    table = pa.Table.from_pylist(rows, schema=schema)
    table = table.replace_schema_metadata({**meta, "vidcarbon.table": name})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table


def read_table(name: str, path: str | Path) -> pa.Table:
    """Read table `name`, refusing a file of another table or schema version."""
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    found = (meta.get("vidcarbon.table"), meta.get("vidcarbon.schema_version"))
    if found != (name, SCHEMA_VERSION):
        raise SchemaMismatch(
            f"{path}: holds table {found[0]!r} schema version {found[1]!r}; expected {name!r} "
            f"version {SCHEMA_VERSION!r}. Regenerate it with this vidcarbon version "
            f"({__version__}) or read it with the version that wrote it."
        )
    return table
