"""The video workload's Snakemake side: what the rule scripts of `fetch_weights`,
`encode_prompt` and `generate` call. Measured work runs in a child process
(`vidcarbon.process.isolation`); this side never imports torch."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from vidcarbon.grid import Cell
from vidcarbon.process.isolation import run_isolated
from vidcarbon.records import load_history, read_json, write_json_atomic
from vidcarbon.workloads.video.spec import cell_identity, encode_identity

log = logging.getLogger(__name__)


def fetch_weights(backend: str, options: dict, record_path: str) -> dict:
    """On the submitting host: fetch what a video model reads (nothing for built-in models)."""
    from vidcarbon.weights import fetch_video_model

    record = fetch_video_model(backend, options)
    log.info("weights: %s", record)
    write_json_atomic(record_path, record)
    return record


def encode_prompt(
    model: str,
    prompt_id: str,
    prompt: str,
    backend: str,
    options: dict,
    warmup_steps: int,
    measurement: dict[str, Any],
    embeddings_path: str,
    record_path: str,
    log_path: str,
    attempt: int = 1,
) -> dict:
    """Text phase of one (model, prompt), isolated in a child process."""
    kwargs = {
        "backend": backend,
        "options": options,
        "prompt": prompt,
        "embeddings_path": embeddings_path,
        "measurement": measurement,
        "warmup_steps": warmup_steps,
    }
    identity = encode_identity(model, prompt_id, prompt, backend)
    return run_isolated(
        "encode", kwargs, identity, record_path, [embeddings_path], log_path, attempt
    )


def generate(
    cell: Cell,
    backend: str,
    options: dict,
    fps: int,
    warmup_steps: int,
    measurement: dict[str, Any],
    embeddings_path: str,
    encode_record_path: str,
    video_path: str,
    record_path: str,
    log_path: str,
    attempt: int = 1,
    lever: dict | None = None,
) -> dict:
    """Denoise and decode one cell, isolated in a child process. A failed cell is a record,
    not an error, unless it ran out of memory with attempts left (`run_isolated`). `lever`:
    what the job applies to the loaded model (`Lever.runtime`) and `steps_run`. A cell on
    several devices runs as that many ranks (`vidcarbon.process.ranks`)."""
    lever = lever or {"cache": None, "scheduler": None, "steps_run": cell.steps}
    identity = cell_identity(cell, backend, fps, measurement["device"], video_path)
    identity["steps_run"] = lever["steps_run"]
    encoded = read_json(encode_record_path)
    if encoded["status"] != "ok":
        # the cell takes its encoding's status, so `vidcarbon retry --status` finds both
        record = {
            "kind": "generate",
            "run_id": uuid.uuid4().hex,
            "status": encoded["status"],
            "error": f"text encoding {encoded['status']}: {encoded.get('error')}",
            "windows": [],
            "trace": [],
            **identity,
            "history": load_history(record_path),
        }
        write_json_atomic(record_path, record)
        Path(video_path).touch()
        log.error("%s skipped: %s", cell.cell_id, record["error"])
        return record
    kwargs = {
        "backend": backend,
        "options": options,
        "shape": {"frames": cell.frames, "height": cell.height, "width": cell.width},
        "steps": lever["steps_run"],
        "seed": cell.seed,
        "lever": {k: v for k, v in lever.items() if k != "steps_run"},
        "fps": fps,
        "warmup_steps": warmup_steps,
        "embeddings_path": embeddings_path,
        "video_path": video_path,
        "measurement": measurement,
    }
    if cell.gpus > 1:
        kwargs["parallel"] = {"ulysses": cell.ulysses, "ring": cell.ring}
    return run_isolated(
        "generate",
        kwargs,
        identity,
        record_path,
        [video_path],
        log_path,
        attempt,
        ranks=cell.gpus,
    )
