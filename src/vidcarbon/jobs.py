"""Entry points of the Snakemake rules: each rule script unpacks its inputs and calls one."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from vidcarbon.grid import Cell, latent_size, tokens_per_frame
from vidcarbon.records import load_history, read_json, write_json_atomic
from vidcarbon.worker import run_isolated


def setup_logging(log_path: str | Path) -> None:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=log_path,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def fetch_weights(backend: str, options: dict, record_path: str, log_path: str) -> dict:
    """On the submitting host: fetch what a video model reads (nothing for built-in models)."""
    from vidcarbon.weights import fetch_video_model

    setup_logging(log_path)
    record = fetch_video_model(backend, options)
    logging.getLogger(__name__).info("weights: %s", record)
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
    setup_logging(log_path)
    identity = {"model": model, "prompt_id": prompt_id, "prompt": prompt, "backend": backend}
    kwargs = {
        "backend": backend,
        "options": options,
        "prompt": prompt,
        "embeddings_path": embeddings_path,
        "measurement": measurement,
        "warmup_steps": warmup_steps,
    }
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
) -> dict:
    """Denoise and decode one cell, isolated in a child process. A failed cell is a record,
    not an error, unless it ran out of memory with attempts left (`run_isolated`)."""
    setup_logging(log_path)
    lh, lw = latent_size(cell.height, cell.width)
    identity = {
        "cell_id": cell.cell_id,
        "model": cell.model,
        "prompt_id": cell.prompt,
        "resolution": cell.resolution,
        "frames": cell.frames,
        "steps": cell.steps,
        "seed": cell.seed,
        "backend": backend,
        "height": cell.height,
        "width": cell.width,
        "latent_height": lh,
        "latent_width": lw,
        "tokens_per_frame": tokens_per_frame(cell.height, cell.width),
        "fps": fps,
        "video_duration_s": cell.frames / fps,
        "device": measurement["device"],
        "video_path": video_path,
    }
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
        logging.getLogger(__name__).error("%s skipped: %s", cell.cell_id, record["error"])
        return record
    kwargs = {
        "backend": backend,
        "options": options,
        "shape": {"frames": cell.frames, "height": cell.height, "width": cell.width},
        "steps": cell.steps,
        "seed": cell.seed,
        "fps": fps,
        "warmup_steps": warmup_steps,
        "embeddings_path": embeddings_path,
        "video_path": video_path,
        "measurement": measurement,
    }
    return run_isolated("generate", kwargs, identity, record_path, [video_path], log_path, attempt)


def idle_baseline(measurement: dict[str, Any], duration_s: float, record_path: str, log_path: str):
    """Measure the device's idle power in this process."""
    from vidcarbon.generation import Measurement
    from vidcarbon.idle import measure_idle

    setup_logging(log_path)
    record = measure_idle(Measurement(**measurement), duration_s)
    write_json_atomic(record_path, record)
    return record


def energy_check(
    measurement: dict[str, Any],
    load: dict[str, int],
    idle_record_path: str,
    record_path: str,
    log_path: str,
):
    """The meter against the device's own energy counter (vidcarbon.energy.check), in this
    process; `load`: matrix_size, matmuls (per window), windows."""
    from vidcarbon.energy.check import check_energy
    from vidcarbon.generation import Measurement

    setup_logging(log_path)
    idle = read_json(idle_record_path)
    idle_w = idle.get("idle_power_w", {}).get("gpu") if idle["status"] == "ok" else None
    record = check_energy(Measurement(**measurement), idle_w, **load)
    logging.getLogger(__name__).info("energy check: %s", record["check"])
    write_json_atomic(record_path, record)
    return record
