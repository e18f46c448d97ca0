"""Energy counters, one per component (gpu, cpu, dram), each tagged with how it measures.

Every counter exposes a cumulative `energy_j()` and, where the hardware reports it, an
instantaneous `power_w()`. Readings come from Zeus's device layer (NVML for NVIDIA GPUs,
RAPL via powercap for CPU package and DRAM). Where no counter is readable, CPU energy is
*estimated* from the process's CPU time and a per-core power, and says so in `method`.
The hardware objects are injected, so tests drive the same code with fake devices
(`vidcarbon.energy.fake_devices`).

NVML and RAPL counters are device-wide (`device_wide = True`): every process working on the
device adds to them. Each counter names the device it reads (`device_id()`, what a job locks)
and how to notice another process on it (`watch()`, see `vidcarbon.energy.sharing`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Protocol

from vidcarbon.energy import fake_devices
from vidcarbon.energy.sharing import LoadWatch, ProcessWatch
from vidcarbon.errors import BackendUnavailable

log = logging.getLogger(__name__)


class EnergyCounter(Protocol):
    component: str  # one of vidcarbon.energy.COMPONENTS
    # how its energy is obtained: counter | integrated | rapl | estimated (never a reading)
    method: str
    device_name: str

    def energy_j(self) -> float:
        """Cumulative energy in joules since an arbitrary origin."""

    def power_w(self) -> float | None:
        """Instantaneous power in watts, or None where only energy is readable."""

    def device_id(self) -> str:
        """The device read, e.g. 'gpu:GPU-<uuid>' or 'cpu:<host>'."""

    def watch(self) -> ProcessWatch | LoadWatch | None:
        """How to notice another process on a device-wide counter (None: per process)."""


class NvmlGPUs:
    """Zeus's `GPUs`, plus what it does not expose: a GPU's UUID (so a job locks the physical
    device whatever CUDA_VISIBLE_DEVICES says) and the processes running on it (pynvml)."""

    def __init__(self, gpus):
        self._gpus = gpus

    def __getattr__(self, name):
        return getattr(self._gpus, name)

    def __len__(self) -> int:
        return len(self._gpus)

    def get_uuid(self, index: int) -> str:
        import pynvml

        uuid = pynvml.nvmlDeviceGetUUID(self._gpus.gpus[index].handle)
        return uuid.decode() if isinstance(uuid, bytes) else uuid  # bytes in older pynvml

    def get_compute_process_ids(self, index: int) -> list[int]:
        import pynvml

        handle = self._gpus.gpus[index].handle
        return [p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)]


class RaplCPUs:
    """Zeus's `CPUs` (RAPL), plus the package's identity and its sharing check (host load)."""

    def __init__(self, cpus):
        self._cpus = cpus

    def __getattr__(self, name):
        return getattr(self._cpus, name)

    def __len__(self) -> int:
        return len(self._cpus)

    def package_id(self) -> str:
        return f"cpu:{socket.gethostname()}"

    def watch(self, component: str) -> LoadWatch:
        return LoadWatch(f"{component} (RAPL, whole package)")


class NvmlEnergyCounter:
    """GPU energy from NVML's total-energy counter (Volta and newer), via Zeus's GPU layer.

    `gpus` is a `zeus.device.gpu.GPUs` (indices respect CUDA_VISIBLE_DEVICES).
    """

    component = "gpu"
    method = "counter"

    def __init__(self, gpus, index: int = 0):
        self.gpus, self.index = gpus, index
        self.device_name = gpus.get_name(index)

    device_wide = True

    def energy_j(self) -> float:
        return self.gpus.get_total_energy_consumption(self.index) / 1000.0

    def power_w(self) -> float | None:
        return self.gpus.get_instant_power_usage(self.index) / 1000.0

    def device_id(self) -> str:
        return f"gpu:{self.gpus.get_uuid(self.index)}"

    def watch(self) -> ProcessWatch:
        return ProcessWatch(
            f"gpu {self.gpus.get_uuid(self.index)}",
            lambda: self.gpus.get_compute_process_ids(self.index),
        )


class IntegratedPowerCounter(NvmlEnergyCounter):
    """GPU energy integrated from polled power, for GPUs without an energy counter (pre-Volta).

    A daemon thread polls `gpus.get_instant_power_usage` every `interval_s` and integrates
    with the trapezoid rule; `close()` stops it.
    """

    method = "integrated"

    def __init__(self, gpus, index: int = 0, interval_s: float = 0.05):
        self.gpus, self.index, self.interval_s = gpus, index, interval_s
        self.device_name = gpus.get_name(index)
        self._lock = threading.Lock()
        self._energy_j = 0.0
        self._last_t = time.monotonic()
        self._last_w = self.power_w()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def power_w(self) -> float | None:
        return self.gpus.get_instant_power_usage(self.index) / 1000.0

    def _advance(self) -> None:
        now, watts = time.monotonic(), self.power_w()
        with self._lock:
            self._energy_j += 0.5 * (watts + self._last_w) * (now - self._last_t)
            self._last_t, self._last_w = now, watts

    def _poll(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._advance()

    def energy_j(self) -> float:
        self._advance()
        with self._lock:
            return self._energy_j

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class RaplEnergyCounter:
    """CPU package (or DRAM) energy from RAPL, summed over packages, via Zeus's CPU layer.

    `cpus` is a `zeus.device.cpu.CPUs`; Zeus tracks counter wrap-around.
    """

    method = "rapl"
    device_wide = True

    def __init__(self, cpus, component: str = "cpu"):
        self.cpus, self.component = cpus, component
        self.device_name = f"RAPL {component} ({len(cpus)} package(s))"

    def device_id(self) -> str:
        return self.cpus.package_id()

    def watch(self) -> ProcessWatch | LoadWatch:
        return self.cpus.watch(self.component)

    def energy_j(self) -> float:
        total_mj = 0.0
        for i in range(len(self.cpus)):
            reading = self.cpus.get_total_energy_consumption(i)
            total_mj += reading.cpu_mj if self.component == "cpu" else (reading.dram_mj or 0.0)
        return total_mj / 1000.0

    def power_w(self) -> float | None:
        return None


class CpuTimeEstimate:
    """CPU energy *estimated* as the process's CPU time x the active power of one core.

    `power_per_core_w` is the CPU's TDP over its cores (config/hardware.yaml). It counts the
    work of this process's threads only, so it is a net (above idle) figure by construction.
    """

    component = "cpu"
    method = "estimated"
    device_wide = False

    def __init__(self, power_per_core_w: float, device_name: str = "cpu"):
        self.power_per_core_w = power_per_core_w
        self.device_name = device_name
        self._last = (time.monotonic(), time.process_time())

    def energy_j(self) -> float:
        return time.process_time() * self.power_per_core_w

    def power_w(self) -> float | None:
        now, cpu_s = time.monotonic(), time.process_time()
        last_now, last_cpu_s = self._last
        self._last = (now, cpu_s)
        if now <= last_now:
            return None
        return (cpu_s - last_cpu_s) / (now - last_now) * self.power_per_core_w

    def device_id(self) -> str:
        return f"cpu:{socket.gethostname()}"

    def watch(self) -> None:
        return None


def rapl_readable() -> bool:
    return os.path.isdir("/sys/class/powercap/intel-rapl") or os.path.isdir(
        "/sys/class/powercap/intel-rapl:0"
    )


def detect_counters(
    device: str, cpu_power_per_core_w: float, cpu_name: str = "cpu", gpu_index: int = 0
) -> list[EnergyCounter]:
    """The best counters this host offers: NVML for GPU `gpu_index` of those visible (if
    `device` is cuda; a rank of a parallel cell reads its own), RAPL for
    CPU and DRAM where readable, else the CPU-time estimate. Zeus is imported only when a
    counter may exist, since its import costs about a second. With VIDCARBON_FAKE_DEVICES
    set (tests only), fake NVML and RAPL devices stand in for the real ones."""
    fake_root = fake_devices.root()
    counters: list[EnergyCounter] = []
    if device == "cuda":
        gpus = fake_devices.FakeGPUs(fake_root) if fake_root else _nvml_gpus()
        if gpus.supports_get_total_energy_consumption(gpu_index):
            counters.append(NvmlEnergyCounter(gpus, gpu_index))
        else:
            counters.append(IntegratedPowerCounter(gpus, gpu_index))
    if fake_root:
        cpus = fake_devices.FakeCPUs(fake_root)
        return [*counters, RaplEnergyCounter(cpus, "cpu"), RaplEnergyCounter(cpus, "dram")]
    if rapl_readable():
        try:
            from zeus.device import get_cpus

            cpus = RaplCPUs(get_cpus())
            counters.append(RaplEnergyCounter(cpus, "cpu"))
            if all(cpus.supports_get_dram_energy_consumption(i) for i in range(len(cpus))):
                counters.append(RaplEnergyCounter(cpus, "dram"))
            return counters
        except Exception as exc:  # permission denied is the usual case
            log.warning(
                "RAPL is present but unreadable (%s); CPU energy will be estimated. "
                "Run as root or start zeusd to read it.",
                exc,
            )
    counters.append(CpuTimeEstimate(cpu_power_per_core_w, cpu_name))
    return counters


_NVML_PID: int | None = None  # the process that made Zeus's GPUs object


def _nvml_gpus() -> NvmlGPUs:
    """Zeus's GPUs, initialised by this process. Zeus keeps one GPUs object per interpreter
    (`zeus.device.gpu._gpus`, zeus 0.16): a job forked from a process that had made it (the
    warm worker, the model host) would inherit its NVML handles, so a new process drops it
    and Zeus calls nvmlInit again."""
    global _NVML_PID
    import zeus.device.gpu as zeus_gpus

    if os.getpid() != _NVML_PID:
        zeus_gpus._gpus = None
        _NVML_PID = os.getpid()
    try:
        return NvmlGPUs(zeus_gpus.get_gpus())
    except Exception as exc:
        raise BackendUnavailable(
            f"device 'cuda' was requested but host {socket.gethostname()!r} has no GPU "
            f"that NVML can read ({exc}); run this job on a GPU node (on SLURM: the rule's "
            "gpu resource in profiles/default/profile.yaml), or set device: cpu"
        ) from exc


def update_period_s(counter: EnergyCounter, duration_s: float = 1.0, poll_s: float = 0.001):
    """How often `counter`'s value changes (median seconds between changes), read by polling
    it every `poll_s` for `duration_s`; None with fewer than three changes. NVML's energy
    counter updates every few tens of milliseconds on some GPUs and about every 100 ms on
    others, so a window shorter than about two periods reads 0 J or a double update."""
    changes, last = [], counter.energy_j()
    end = time.perf_counter() + duration_s
    while (now := time.perf_counter()) < end:
        value = counter.energy_j()
        if value != last:
            changes.append(now)
            last = value
        time.sleep(poll_s)
    gaps = sorted(b - a for a, b in zip(changes, changes[1:], strict=False))
    return gaps[len(gaps) // 2] if len(gaps) >= 2 else None
