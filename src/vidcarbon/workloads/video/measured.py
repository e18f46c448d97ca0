"""The video workload's child side: encode one prompt; generate one cell (load, warm-up,
denoise per step, decode, write the mp4). Each returns the job's record (see
`vidcarbon.workloads.measured`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.energy.meter import Meter
from vidcarbon.workloads import loaded
from vidcarbon.workloads.measured import JobContext, Measurement, measured_denoise


def encode_prompt(
    backend: str,
    options: dict,
    prompt: str,
    embeddings_path: str | Path,
    measurement: Measurement,
    warmup_steps: int = 1,
) -> dict[str, Any]:
    """Text phase of one prompt, warm as the other phases (`phase_state`): an unmeasured
    encode of the same prompt, then the measured one. Writes the embeddings."""
    import torch

    ctx = JobContext.of("encode", measurement, warmup_steps, backend=backend)

    def body(meter: Meter) -> None:
        model = create_backend(backend, options)
        with meter.window("load"):
            model.load(measurement.compute_device, phases=("encode",))
        ctx.record["model_info"] = model.describe()
        if warmup_steps > 0:
            with meter.window("warmup"):
                model.encode(prompt)
        with meter.window("encode"):
            embeddings = model.encode(prompt)
        tmp = Path(embeddings_path).with_suffix(".tmp")
        torch.save(embeddings, tmp)
        tmp.replace(embeddings_path)
        ctx.record["text_tokens"] = embeddings.get("text_tokens")

    return ctx.run(body)


def generate_cell(
    backend: str,
    options: dict,
    shape: VideoShape,
    steps: int,
    seed: int,
    fps: int,
    warmup_steps: int,
    embeddings_path: str | Path,
    video_path: str | Path,
    measurement: Measurement,
    lever: dict | None = None,
    parallel: dict | None = None,
) -> dict[str, Any]:
    """Denoising and decoding of one cell, after a warm-up pass; writes the mp4. The model
    is loaded in the `load` window, unless an earlier cell of this process left it loaded
    (`vidcarbon.workloads.loaded`): then the cell has no `load` window and its record names
    the run that loaded it (`model_loaded_by`). `lever` (`Lever.runtime`) is applied to the
    loaded model (`backends.lever_hooks`); `steps` are the steps the lever runs.

    `parallel` ({ulysses, ring}): this process is one rank of the cell
    (`workloads.distributed`); the denoiser is split over the ranks (diffusers' context
    parallelism), and rank 0 alone decodes and writes the video while the others wait at
    the window's closing barrier."""
    import torch

    from vidcarbon.backends.lever_hooks import apply_lever
    from vidcarbon.video import write_mp4

    ctx = JobContext.of("generate", measurement, warmup_steps, backend=backend)
    if parallel and ctx.rank is None:
        raise RuntimeError("a parallel cell runs as ranks of torch's launcher (process.ranks)")
    leads = ctx.rank is None or ctx.rank.leads

    phases = ("denoise", "decode")
    model_key = loaded.key(backend, {**options, "lever": lever}, measurement.compute_device, phases)

    def body(meter: Meter) -> None:
        model, loaded_by = loaded.get(model_key)
        if model is None:
            model = create_backend(backend, options)
            with meter.window("load"):
                model.load(measurement.compute_device, phases=phases)
                apply_lever(model, lever)
                if parallel:
                    from vidcarbon.backends.context_parallel import enable_context_parallel

                    enable_context_parallel(model, **parallel)
                embeddings = torch.load(embeddings_path, weights_only=True)
            loaded_by = ctx.record["run_id"]
            if not parallel:  # a rank's process ends with its cell
                loaded.keep(model_key, model, loaded_by)
        else:  # loaded by an earlier cell of this process, whose record holds the load
            embeddings = torch.load(embeddings_path, weights_only=True)
        ctx.record["model_loaded_by"] = loaded_by
        ctx.record["model_info"] = model.describe()
        if warmup_steps > 0:
            with meter.window("warmup"):
                latents = model.denoise(embeddings, shape, warmup_steps, seed)
                if leads:
                    model.decode(*model.first_frame(latents, shape))

        latents = measured_denoise(meter, model, embeddings, shape, steps, seed)
        with meter.window("decode"):
            frames = model.decode(latents, shape) if leads else None
        if leads:
            write_mp4(video_path, frames, fps)
            ctx.record["frames_written"] = int(frames.shape[0])

    return ctx.run(body)
