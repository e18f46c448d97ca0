"""The image baseline: one text-to-image job (encode, denoise, decode) measured with the video
meter, and its row in images.parquet.

Images get their own table rather than rows in runs.parquet: a runs row is a grid cell with
frames, fps and a video path, and the video analysis would have to filter images back out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.backends import VideoShape, check_backend, create_backend
from vidcarbon.energy.meter import Meter
from vidcarbon.generation import JobContext, Measurement, measured_denoise, phase_state

# name -> "module:Class" implementing vidcarbon.backends.Backend for one frame.
IMAGE_BACKENDS: dict[str, str] = {"pixart-tiny": "vidcarbon.backends.pixart_tiny:PixArtTiny"}


def check_image_backend(name: str, key: str = "image.models") -> None:
    check_backend(name, key, registry=IMAGE_BACKENDS, kind="image backend")


def create_image_backend(name: str, options: dict):
    return create_backend(name, options, registry=IMAGE_BACKENDS)


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

    ctx = JobContext(
        measurement,
        {"kind": "image", "backend": backend, "phase_state": phase_state(warmup_steps)},
    )

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


def image_row(record: dict[str, Any], idle: dict[str, Any]) -> dict[str, Any]:
    """One images-table row: identity, status, per-phase time and energy (gross and net).

    `idle`: the idle_baseline record of the job's device ({} if none)."""
    from vidcarbon.collect import _phase_columns, _sum_or_none, measurement_columns
    from vidcarbon.tables import PHASES

    windows = {w["name"]: w for w in record.get("windows", [])}
    idle_w = idle.get("idle_power_w", {})
    info = record.get("model_info", {})
    names = record.get("device_names", {})
    row = {
        key: record.get(key)
        for key in (
            "image_id",
            "model",
            "prompt_id",
            "prompt",
            "resolution",
            "height",
            "width",
            "steps",
            "seed",
            "backend",
            "status",
            "error",
            "hostname",
            "device",
            "threads",
            "text_tokens",
            "image_path",
            "started_at",
        )
    }
    row.update(
        device_name=names.get("gpu", names.get("cpu")),
        dtype=info.get("dtype"),
        params_transformer=info.get("params_transformer"),
        **measurement_columns(record, idle),
        load_duration_s=windows.get("load", {}).get("duration_s"),
        warmup_duration_s=windows.get("warmup", {}).get("duration_s"),
        warmup_energy_j=_sum_or_none(windows.get("warmup", {}).get("energy_j", {}).values()),
    )
    for phase in PHASES:
        row.update(_phase_columns(phase, windows.get(phase), idle_w))
    complete = all(row[f"{p}_duration_s"] is not None for p in PHASES)
    for total, column in (
        ("generation_duration_s", "duration_s"),
        ("energy_j", "energy_j"),
        ("net_energy_j", "net_energy_j"),
    ):
        row[total] = sum(row[f"{p}_{column}"] for p in PHASES) if complete else None
    return row
