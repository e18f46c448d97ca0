"""The video workload's spec: what its jobs are asked (their identity, as their records and
rows name it) and where their records and outputs live.

A grid cell (`vidcarbon.grid.Cell`) is one generate job; its prompt's text encoding is one
encode job per (model, prompt), charged to every cell of that prompt.
"""

from __future__ import annotations

from typing import Any

from vidcarbon.grid import Cell, latent_size, tokens_per_frame
from vidcarbon.records import RecordKind

RECORDS = (
    RecordKind("text encoding", "encode", (("encode", ".pt"),)),
    RecordKind("video cell", "cells", (("videos", ".mp4"),)),
)


def encode_identity(model: str, prompt_id: str, prompt: str, backend: str) -> dict[str, Any]:
    return {"model": model, "prompt_id": prompt_id, "prompt": prompt, "backend": backend}


def cell_identity(
    cell: Cell, backend: str, fps: int, device: str, video_path: str
) -> dict[str, Any]:
    """A cell's keys, its shape (pixels, latents, DiT tokens, seconds) and where it goes."""
    latent_height, latent_width = latent_size(cell.height, cell.width)
    return {
        "cell_id": cell.cell_id,
        "model": cell.model,
        "prompt_id": cell.prompt,
        "resolution": cell.resolution,
        "frames": cell.frames,
        "steps": cell.steps,
        "seed": cell.seed,
        "lever": cell.lever,
        "gpus": cell.gpus,
        "ulysses_degree": cell.ulysses,
        "ring_degree": cell.ring,
        "backend": backend,
        "height": cell.height,
        "width": cell.width,
        "latent_height": latent_height,
        "latent_width": latent_width,
        "tokens_per_frame": tokens_per_frame(cell.height, cell.width),
        "fps": fps,
        "video_duration_s": cell.frames / fps,
        "device": device,
        "video_path": video_path,
    }
