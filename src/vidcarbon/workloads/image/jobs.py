"""The image workload's Snakemake side: what the `generate_image` rule script calls."""

from __future__ import annotations

from typing import Any

from vidcarbon.process.isolation import run_isolated
from vidcarbon.workloads.image.spec import Image, image_identity


def generate_image(
    image: Image,
    prompt: str,
    backend: str,
    options: dict,
    warmup_steps: int,
    measurement: dict[str, Any],
    image_path: str,
    record_path: str,
    log_path: str,
    attempt: int = 1,
) -> dict:
    """One image of the image baseline, isolated in a child process."""
    identity = image_identity(image, prompt, backend, measurement["device"], image_path)
    kwargs = {
        "backend": backend,
        "options": options,
        "prompt": prompt,
        "shape": {"frames": 1, "height": identity["height"], "width": identity["width"]},
        "steps": image.steps,
        "seed": image.seed,
        "warmup_steps": warmup_steps,
        "image_path": image_path,
        "measurement": measurement,
    }
    return run_isolated("image", kwargs, identity, record_path, [image_path], log_path, attempt)
