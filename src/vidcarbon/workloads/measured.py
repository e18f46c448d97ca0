"""The child's side of every measured job, shared by the workloads: the meter's settings, the
context that measures a job's body and fills its record, and how a failure is classified.

A workload's `measured` module builds its body (load, warm-up, then the measured phases) and
runs it in a `JobContext`; the record it returns holds the windows (time and energy per
component), the power trace and a status. A failure keeps everything measured before it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from vidcarbon.backends import VideoShape
from vidcarbon.energy import fake_devices
from vidcarbon.energy.counters import detect_counters
from vidcarbon.energy.device_lock import hold_device
from vidcarbon.energy.host_cpu import CpuPower, detect_cpu_power
from vidcarbon.energy.meter import Meter
from vidcarbon.energy.sampler import PowerSampler
from vidcarbon.energy.sharing import Watcher, own_pids
from vidcarbon.workloads.distributed import Group, Rank

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Measurement:
    """Settings of the meter: which device, how often to sample, how to estimate the CPU.

    `cpu` is "auto" (detect the host CPU in the job, `vidcarbon.energy.host_cpu`) or a
    hardware-file entry, whose `cpu_power_per_core_w` and `cpu_estimate_source` come with it.
    """

    device: str = "cpu"
    trace_interval_s: float = 0.05
    cpu: str = "auto"
    cpu_power_per_core_w: float | None = None
    cpu_estimate_source: str | None = None
    threads: int = 1

    @property
    def compute_device(self) -> str:
        """Where the model runs (the CPU while the tests' fake GPUs stand in for CUDA)."""
        return fake_devices.compute_device(self.device)

    def cpu_power(self) -> CpuPower:
        if self.cpu == "auto":
            return detect_cpu_power()
        return CpuPower(self.cpu, self.cpu_power_per_core_w, self.cpu_estimate_source)


@dataclass
class JobContext:
    """A meter and a sampler around one job, and the record they fill.

    `run` holds the job's device exclusively (`device_lock`) while the body runs, and records
    whether another process drove a device-wide counter meanwhile (`sharing`).

    In a rank of a parallel cell (`distributed.Rank`) the meter reads its own GPU, every
    reading waits at a barrier of all ranks, rank 0 holds every rank's device, and the
    other ranks' processes do not count as sharing the devices."""

    measurement: Measurement
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: str, measurement: Measurement, warmup: int, **names: Any) -> JobContext:
        """A workload job's context: its kind, what names it, and how its phases are
        measured (`phase_state` of its `warmup`)."""
        return cls(measurement, {"kind": kind, **names, "phase_state": phase_state(warmup)})

    def __post_init__(self):
        import torch

        torch.set_num_threads(self.measurement.threads)
        cuda = self.measurement.compute_device == "cuda"
        self.rank = Rank.from_env()
        self.group = Group(self.rank, self.measurement.compute_device) if self.rank else None
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        if self.group is not None:
            sync = _at_barrier(sync, self.group)
        cpu = self.measurement.cpu_power()
        counters = detect_counters(
            self.measurement.device,
            cpu.power_per_core_w,
            cpu.model_name,
            gpu_index=self.rank.local_rank if self.rank else 0,
        )
        self.meter = Meter(counters, synchronize=sync)
        self.sampler = PowerSampler(counters, self.measurement.trace_interval_s, self.meter.origin)
        # the device the job holds: its GPU, else the CPU package
        self.device_id = next(
            (c.device_id() for c in counters if c.component == "gpu"), counters[-1].device_id()
        )
        self.record.update(
            run_id=uuid.uuid4().hex,
            status="ok",
            error=None,
            started_at=dt.datetime.now(dt.UTC).isoformat(),
            hostname=socket.gethostname(),
            slurm_job_id=os.environ.get("SLURM_JOB_ID"),
            device=self.measurement.device,
            device_id=self.device_id,
            device_names=self.meter.device_names,
            methods=self.meter.methods,
            threads=self.measurement.threads,
            cpu_model=cpu.model_name,
        )
        if self.rank is not None:
            self.record.update(
                rank=self.rank.rank,
                world_size=self.rank.world_size,
                pid=os.getpid(),
                # what the ranks' windows add up to: per-process counters and distinct
                # devices are summed over ranks, a device several ranks read is counted once
                counters={
                    c.component: {"device_id": c.device_id(), "device_wide": c.device_wide}
                    for c in counters
                },
            )
        if self.meter.methods.get("cpu") == "estimated":
            self.record.update(
                cpu_power_per_core_w=cpu.power_per_core_w, cpu_estimate_source=cpu.source
            )

    def run(self, body) -> dict[str, Any]:
        """Run `body(meter)` under the sampler; record a failure instead of raising."""
        counters = self.meter.counters
        watches = {c.component: w for c in counters if (w := c.watch()) is not None}
        drives = self.record.get("kind") != "idle"  # an idle measurement must not drive it
        held, siblings = [self.device_id], set()
        if self.group is not None:  # rank 0 holds every rank's device, in one order
            every_device = set(self.group.gather(self.device_id))
            held = sorted(every_device) if self.rank.leads else []
            siblings = {p for pids in self.group.gather(sorted(own_pids())) for p in pids}
            for watch in watches.values():
                if hasattr(watch, "mine"):
                    watch.mine |= siblings
        with contextlib.ExitStack() as devices:
            self.record["device_wait_s"] = sum(devices.enter_context(hold_device(d)) for d in held)
            if self.group is not None:
                self.group.barrier()  # no rank measures before every device is held
            with (
                fake_devices.driving(counters if drives else []),
                Watcher(watches) as watcher,
                self.sampler,
            ):
                try:
                    body(self.meter)
                except BaseException as exc:  # noqa: BLE001 - failures are data
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    self.record["status"] = classify_failure(exc)
                    self.record["error"] = f"{type(exc).__name__}: {exc}"
                    self.record["failed_at"] = time.time()  # which rank failed first
                    log.error("job failed:\n%s", traceback.format_exc())
                if self.group is not None and self.record["status"] == "ok":
                    # the other ranks' CPU time is theirs, not another process's load
                    cpu_s = self.group.gather(time.process_time() - watcher.load.own_start_s)
                    watcher.load.siblings_cpu_s = sum(cpu_s) - cpu_s[self.rank.rank]
        self.record["other_cpu_load"] = watcher.host_load
        self.record["shared"] = watcher.shared()
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


def _at_barrier(synchronize, group: Group):
    """`synchronize`, then a barrier of all ranks, then `synchronize` again (the barrier's
    own work on the GPU), so a reading is taken at the same instant on every rank."""

    def both() -> None:
        synchronize()
        group.barrier()
        synchronize()

    return both


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


def phase_state(warmup: int) -> str:
    """How every phase of a job was measured: "warm" (after an unmeasured pass of that same
    phase in the same process, the `warmup` window) or "cold" (warm-up turned off)."""
    return "warm" if warmup > 0 else "cold"
