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

# One row per (cell, metric). `pretrained` is null for a weight-free metric, false for a network
# with random placeholder weights (its value is a code-path check, never a quality score).
QUALITY = pa.schema(
    [
        *_CELL_KEYS,
        pa.field("metric", pa.string(), nullable=False),
        pa.field("metric_version", pa.string()),
        pa.field("unit", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("pretrained", pa.bool_()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("duration_s", pa.float64()),
        pa.field("video_path", pa.string()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "runs": RUNS,
    "steps": STEPS,
    "traces": TRACES,
    "quality": QUALITY,
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
