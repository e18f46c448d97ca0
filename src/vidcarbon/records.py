"""Per-job measurement records (JSON), written atomically by jobs and read by `collect`.

A record that is redone (`vidcarbon retry`, or a job resubmitted with more memory) first goes
to its history, `<record>.history.jsonl` beside it, one earlier attempt a line; the new
record carries a summary of that history, so its row says which attempt it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUSES = ("ok", "oom", "failed", "killed")
HISTORY_KEYS = ("status", "error", "run_id", "started_at", "hostname", "slurm_job_id")


@dataclass(frozen=True)
class RecordKind:
    """Where one kind of measured job keeps its records (each workload's spec names its own),
    and its other outputs, which share the record's stem."""

    name: str
    records: str  # folder of the records, under the results folder
    outputs: tuple[tuple[str, str], ...] = ()  # (folder, suffix) of outputs with the same stem


def write_json_atomic(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def file_state(path: str | Path) -> list[int] | None:
    """[size in bytes, mtime in ns] of a file, None if it is missing: what a stored score
    was computed from (a regenerated video or record has a new mtime)."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def history_path(record_path: str | Path) -> Path:
    record_path = Path(record_path)
    return record_path.with_name(f"{record_path.stem}.history.jsonl")


def archive(record_path: str | Path, record: dict[str, Any]) -> None:
    """Append `record` (an attempt about to be redone) to the history of `record_path`."""
    path = history_path(record_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, default=str) + "\n")


def load_history(record_path: str | Path) -> list[dict[str, Any]]:
    """Summaries of the earlier attempts at `record_path`, oldest first, numbered from 1."""
    path = history_path(record_path)
    if not path.exists():
        return []
    earlier = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [
        {"attempt": i, **{k: rec.get(k) for k in HISTORY_KEYS}}
        for i, rec in enumerate(earlier, start=1)
    ]
