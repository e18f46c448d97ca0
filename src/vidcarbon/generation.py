"""The measured jobs: encode one prompt; generate one cell (load, warm-up, denoise, decode).

Each returns a JSON-able record with its windows (time and energy per component), the power
trace, and a status. A failure keeps everything measured before it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.energy.counters import detect_counters
from vidcarbon.energy.meter import Meter
from vidcarbon.energy.sampler import PowerSampler
from vidcarbon.records import classify_failure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measurement:
    """Settings of the meter: which device, how often to sample, how to estimate the CPU."""

    device: str = "cpu"
    trace_interval_s: float = 0.05
    cpu_power_per_core_w: float = 5.0
    cpu_name: str = "cpu"
    threads: int = 1


@dataclass
class JobContext:
    """A meter and a sampler around one job, and the record they fill."""

    measurement: Measurement
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        import torch

        torch.set_num_threads(self.measurement.threads)
        sync = torch.cuda.synchronize if self.measurement.device == "cuda" else (lambda: None)
        counters = detect_counters(
            self.measurement.device,
            self.measurement.cpu_power_per_core_w,
            self.measurement.cpu_name,
        )
        self.meter = Meter(counters, synchronize=sync)
        self.sampler = PowerSampler(counters, self.measurement.trace_interval_s, self.meter.origin)
        self.record.update(
            run_id=uuid.uuid4().hex,
            status="ok",
            error=None,
            started_at=dt.datetime.now(dt.UTC).isoformat(),
            hostname=socket.gethostname(),
            slurm_job_id=os.environ.get("SLURM_JOB_ID"),
            device=self.measurement.device,
            device_names=self.meter.device_names,
            methods=self.meter.methods,
            threads=self.measurement.threads,
        )

    def run(self, body) -> dict[str, Any]:
        """Run `body(meter)` under the sampler; record a failure instead of raising."""
        with self.sampler:
            try:
                body(self.meter)
            except BaseException as exc:  # noqa: BLE001 - failures are data
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self.record["status"] = classify_failure(exc)
                self.record["error"] = f"{type(exc).__name__}: {exc}"
                log.error("job failed:\n%s", traceback.format_exc())
        self.record["windows"] = [
            {
                "name": w.name,
                "start_s": w.start_s,
                "duration_s": w.duration_s,
                "energy_j": w.energy_j,
            }
            for w in self.meter.windows
        ]
        self.record["trace"] = [[s.t_s, s.component, s.power_w] for s in self.sampler.samples]
        return self.record


def measured_denoise(meter: Meter, model, embeddings, shape: VideoShape, steps: int, seed: int):
    """The `denoise` window, split into contiguous `step_i` windows (each ends when the
    backend reports step i done), so the steps add up to the phase."""

    def on_step(i: int) -> None:
        meter.end_window(f"step_{i}")
        if i + 1 < steps:
            meter.begin_window(f"step_{i + 1}")

    with meter.window("denoise"):
        meter.begin_window("step_0")
        return model.denoise(embeddings, shape, steps, seed, on_step=on_step)


def encode_prompt(
    backend: str,
    options: dict,
    prompt: str,
    embeddings_path: str | Path,
    measurement: Measurement,
) -> dict[str, Any]:
    """Text phase of one prompt: writes its embeddings to `embeddings_path`."""
    import torch

    ctx = JobContext(measurement, {"kind": "encode", "backend": backend})

    def body(meter: Meter) -> None:
        model = create_backend(backend, options)
        with meter.window("load"):
            model.load(measurement.device, phases=("encode",))
        ctx.record["model_info"] = model.describe()
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
) -> dict[str, Any]:
    """Denoising and decoding of one cell, after a warm-up pass; writes the mp4."""
    import torch

    from vidcarbon.video import write_mp4

    ctx = JobContext(measurement, {"kind": "generate", "backend": backend})

    def body(meter: Meter) -> None:
        model = create_backend(backend, options)
        with meter.window("load"):
            model.load(measurement.device, phases=("denoise", "decode"))
            embeddings = torch.load(embeddings_path, weights_only=True)
        ctx.record["model_info"] = model.describe()
        if warmup_steps > 0:
            with meter.window("warmup"):
                latents = model.denoise(embeddings, shape, warmup_steps, seed)
                model.decode(*model.first_frame(latents, shape))

        latents = measured_denoise(meter, model, embeddings, shape, steps, seed)
        with meter.window("decode"):
            frames = model.decode(latents, shape)
        write_mp4(video_path, frames, fps)
        ctx.record["frames_written"] = int(frames.shape[0])

    return ctx.run(body)
