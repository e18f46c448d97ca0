"""Fake NVML GPUs and a fake RAPL package for the tests, behind the device API the real
counters read (Zeus's `GPUs`/`CPUs` plus `NvmlGPUs`/`RaplCPUs` extras).

Selected only by the environment variable VIDCARBON_FAKE_DEVICES, a directory the tests
create. Like the real counters they are device-wide: a device draws `idle_w` plus `active_w`
for every process currently driving it, and its cumulative energy integrates that over time.
Which processes drive which device is shared between processes through one event log per
device in that directory, so two jobs that overlap on a device each see the other's energy,
exactly as two jobs on one real GPU would. A job drives its devices while its body runs
(`driving`). With `device: cuda`, jobs compute on the CPU (`compute_device`) while measuring
the fake GPU that CUDA_VISIBLE_DEVICES names (SLURM sets it from the job's GRES).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidcarbon.energy.sharing import ProcessWatch

ENV = "VIDCARBON_FAKE_DEVICES"
GPU_W = (60.0, 240.0)  # (idle, per active process)
CPU_W = (30.0, 90.0)
DRAM_W = (3.0, 6.0)


def root() -> Path | None:
    """The fake devices' directory, or None (the real devices)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def compute_device(device: str) -> str:
    """Where the model runs: the CPU while fake GPUs stand in for CUDA."""
    return "cpu" if device == "cuda" and root() is not None else device


class FakeDevice:
    """A device-wide power model whose drivers are logged in `path` ("t delta pid" lines)."""

    def __init__(self, path: Path, watts: tuple[float, float]):
        self.path = path
        self.idle_w, self.active_w = watts
        path.parent.mkdir(parents=True, exist_ok=True)
        self._append(0, 0)  # the first line fixes the counter's origin

    def _append(self, delta: int, pid: int) -> None:
        with open(self.path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            if delta or f.tell() == 0:
                f.write(f"{time.monotonic()!r} {delta} {pid}\n")

    def _events(self) -> list[tuple[float, int, int]]:
        with open(self.path) as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            return [(float(t), int(d), int(p)) for t, d, p in (ln.split() for ln in f)]

    def energy_j(self) -> float:
        events, now = self._events(), time.monotonic()
        energy, active, last = 0.0, 0, events[0][0]
        for t, delta, _ in [*events, (now, 0, 0)]:
            energy += (self.idle_w + self.active_w * active) * (t - last)
            active, last = active + delta, t
        return energy

    def drivers(self) -> set[int]:
        active: dict[int, int] = {}
        for _, delta, pid in self._events():
            active[pid] = active.get(pid, 0) + delta
        return {pid for pid, n in active.items() if n > 0}

    def power_w(self) -> float:
        return self.idle_w + self.active_w * len(self.drivers())

    @contextlib.contextmanager
    def driven(self) -> Iterator[None]:
        self._append(+1, os.getpid())
        try:
            yield
        finally:
            self._append(-1, os.getpid())


def _tag(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]


class FakeGPUs:
    """The GPUs CUDA_VISIBLE_DEVICES names (default "0"), with NVML's counter and queries."""

    def __init__(self, directory: Path):
        self.ids = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")
        self.tag = _tag(directory)
        self.devices = [FakeDevice(directory / f"gpu{i}.log", GPU_W) for i in self.ids]

    def __len__(self) -> int:
        return len(self.devices)

    def get_name(self, index: int) -> str:
        return f"Fake GPU {self.ids[index]}"

    def get_uuid(self, index: int) -> str:
        return f"GPU-fake-{self.tag}-{self.ids[index]}"

    def supports_get_total_energy_consumption(self, index: int) -> bool:
        return True

    def get_total_energy_consumption(self, index: int) -> int:  # mJ, as NVML
        return int(self.devices[index].energy_j() * 1000)

    def get_instant_power_usage(self, index: int) -> int:  # mW
        return int(self.devices[index].power_w() * 1000)

    def get_compute_process_ids(self, index: int) -> list[int]:
        return sorted(self.devices[index].drivers())


@dataclass(frozen=True)
class FakeReading:
    """Zeus's CpuDramMeasurement: package and DRAM energy in mJ."""

    cpu_mj: float
    dram_mj: float | None


class FakeCPUs:
    """One CPU package with RAPL package and DRAM counters, driven by the same processes."""

    def __init__(self, directory: Path):
        self.tag = _tag(directory)
        self.package = FakeDevice(directory / "cpu.log", CPU_W)
        self.dram = FakeDevice(directory / "cpu.log", DRAM_W)

    def __len__(self) -> int:
        return 1

    def get_total_energy_consumption(self, index: int) -> FakeReading:
        return FakeReading(self.package.energy_j() * 1000, self.dram.energy_j() * 1000)

    def supports_get_dram_energy_consumption(self, index: int) -> bool:
        return True

    def package_id(self) -> str:
        return f"cpu:fake-{self.tag}"

    def watch(self, component: str) -> ProcessWatch:
        return ProcessWatch(f"{component} (fake RAPL package)", self.package.drivers)


@contextlib.contextmanager
def driving(counters: Sequence) -> Iterator[None]:
    """Mark this process as driving the fake devices behind `counters` (no-op for real ones)."""
    devices = {}
    for counter in counters:
        gpus, cpus = getattr(counter, "gpus", None), getattr(counter, "cpus", None)
        if isinstance(gpus, FakeGPUs):
            devices[gpus.devices[counter.index].path] = gpus.devices[counter.index]
        if isinstance(cpus, FakeCPUs):
            devices[cpus.package.path] = cpus.package
    with contextlib.ExitStack() as stack:
        for device in devices.values():
            stack.enter_context(device.driven())
        yield
