"""Models kept loaded between the jobs that one process runs (the child's side).

A cold or forked child runs one job and exits, so nothing is ever reused there. The model host
of a packed SLURM job (`vidcarbon.process.model_host`) runs its cells one after another in one
process: the first job (a generation cell, an LLM shard) that needs a model loads it inside its
`load` window, the next jobs of the same model, options and device take it from here and
record whose run loaded it (`model_loaded_by`), so a load is measured exactly once.
"""

from __future__ import annotations

import json
from typing import Any

# (backend, options, compute device, phases) -> (the loaded backend, run_id of the loading job)
_MODELS: dict[tuple[str, str, str, tuple[str, ...]], tuple[Any, str]] = {}
# Only a process that runs job after job keeps models: the model host turns this on. Anywhere
# else (a child, a test or notebook calling a workload directly) every job loads its own.
_KEEPING = False


def keep_models() -> None:
    """Keep each job's model for this process's next jobs (the model host's)."""
    global _KEEPING
    _KEEPING = True


def key(backend: str, options: dict, device: str, phases: tuple[str, ...]) -> tuple:
    """What makes two loads the same: the backend, its options, the device and the phases."""
    return backend, json.dumps(options, sort_keys=True, default=str), device, phases


def get(model_key: tuple) -> tuple[Any, str] | tuple[None, None]:
    """The loaded model under `model_key` and the run_id that loaded it, or (None, None)."""
    return _MODELS.get(model_key, (None, None)) if _KEEPING else (None, None)


def keep(model_key: tuple, model: Any, run_id: str) -> None:
    """Keep `model`, loaded by the job `run_id`, for the process's next jobs. One model at a
    time: a packed job's memory stays that of one cell whatever models its cells use."""
    if not _KEEPING:
        return
    if any(k != model_key for k in _MODELS):
        forget_all()
    _MODELS[model_key] = (model, run_id)


def forget_all() -> None:
    """Drop every kept model (after a failed job: its model may be in a broken state), and
    return the memory they held to the device."""
    _MODELS.clear()
    import gc

    gc.collect()
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
