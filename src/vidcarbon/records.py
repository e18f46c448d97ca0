"""Per-job measurement records (JSON), written atomically by jobs and read by `collect`.

A record that is redone (`vidcarbon retry`, or a job resubmitted with more memory) first goes
to its history, `<record>.history.jsonl` beside it, one earlier attempt a line; the new
record carries a summary of that history, so its row says which attempt it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATUSES = ("ok", "oom", "failed", "killed")
HISTORY_KEYS = ("status", "error", "run_id", "started_at", "hostname", "slurm_job_id")


def write_json_atomic(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def classify_failure(exc: BaseException) -> str:
    """'oom' for out-of-memory errors (CUDA or host), else 'failed'."""
    if isinstance(exc, MemoryError):
        return "oom"
    try:
        import torch

        # torch.OutOfMemoryError is torch >= 2.5; the Open-Sora envs pin torch 2.1 / 2.3.
        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return "oom"
    except ImportError:
        pass
    text = str(exc).lower()
    if "out of memory" in text or "can't allocate memory" in text:
        return "oom"
    return "failed"


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
