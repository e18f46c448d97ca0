"""The image workload's child side: one text-to-image job (load, warm-up, then encode,
denoise per step and decode, measured), the PNG written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.backends import VideoShape
from vidcarbon.energy.meter import Meter
from vidcarbon.workloads.image.spec import create_image_backend
from vidcarbon.workloads.measured import JobContext, Measurement, measured_denoise


def generate_image(
    backend: str,
    options: dict,
    prompt: str,
    shape: VideoShape,
    steps: int,
    seed: int,
    warmup_steps: int,
    image_path: str | Path,
    measurement: Measurement,
) -> dict[str, Any]:
    """Load, warm up, then measure encode, denoise (per step) and decode of one image."""
    import imageio.v3 as iio

    ctx = JobContext.of("image", measurement, warmup_steps, backend=backend)

    def body(meter: Meter) -> None:
        model = create_image_backend(backend, options)
        with meter.window("load"):
            model.load(measurement.compute_device, phases=("encode", "denoise", "decode"))
        ctx.record["model_info"] = model.describe()
        if warmup_steps > 0:
            # at least the backend's minimum (PixArt cannot run 1 step)
            warm = max(warmup_steps, getattr(model, "min_steps", 1))
            with meter.window("warmup"):
                model.decode(model.denoise(model.encode(prompt), shape, warm, seed), shape)

        with meter.window("encode"):
            embeddings = model.encode(prompt)
        ctx.record["text_tokens"] = embeddings.get("text_tokens")
        latents = measured_denoise(meter, model, embeddings, shape, steps, seed)
        with meter.window("decode"):
            frames = model.decode(latents, shape)
        tmp = Path(image_path).with_suffix(".tmp.png")
        iio.imwrite(tmp, frames[0])
        tmp.replace(image_path)
        ctx.record["image_shape"] = list(frames.shape[1:])

    return ctx.run(body)
