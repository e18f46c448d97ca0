"""Per-job measurement records (JSON), written atomically by jobs and read by `collect`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATUSES = ("ok", "oom", "failed", "killed")


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
