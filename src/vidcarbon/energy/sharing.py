"""Who else drove a device-wide counter while a job measured, and how busy the host was.

NVML's energy counter covers the whole GPU and RAPL's the whole CPU package, so another
process working on the same device during a window lands in that window's joules. A job
cannot subtract it; it can notice it and say so in its row:
- a GPU: the processes NVML lists on it (`nvmlDeviceGetComputeRunningProcesses`), polled
  through the job, other than this one;
- a RAPL package: the cores other processes kept busy (`/proc/stat` minus this process's own
  CPU time), flagged above `SHARED_CPU_LOAD` cores on average.
The per-process CPU-time estimate cannot be shared, so it is never flagged; the host load is
still recorded (`other_cpu_load`), since it can stretch wall time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

# Mean cores busy with other processes above which a RAPL window is flagged as shared: about
# what Snakemake's own bookkeeping and system daemons stay below on an otherwise idle host.
SHARED_CPU_LOAD = 0.1


def own_pids() -> set[int]:
    """This process's pid in every PID namespace it lives in (`NSpid`), since NVML reports
    host pids to a process inside a container."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return {int(p) for p in line.split()[1:]}
    except OSError:
        pass
    return {os.getpid()}


def _busy_s() -> float | None:
    """Seconds all CPUs of the host spent busy (user, nice, system, irq, softirq) since boot."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class HostLoad:
    """Mean number of cores other processes kept busy between `start()` and `stop()`."""

    def __init__(self):
        self._start: tuple[float, float, float] | None = None
        self.own_start_s = time.process_time()
        # CPU seconds of processes that are part of the job (the other ranks of a parallel
        # cell), set before `stop()`: not another process's load
        self.siblings_cpu_s = 0.0

    def start(self) -> None:
        busy = _busy_s()
        self.own_start_s = time.process_time()
        if busy is not None:
            self._start = (time.monotonic(), busy, self.own_start_s)

    def stop(self) -> float | None:
        busy = _busy_s()
        if self._start is None or busy is None:
            return None
        t0, busy0, own0 = self._start
        wall_s = time.monotonic() - t0
        if wall_s <= 0:
            return None
        others_s = (busy - busy0) - (time.process_time() - own0) - self.siblings_cpu_s
        return max(others_s, 0.0) / wall_s


class ProcessWatch:
    """Remembers every process other than this one that `list_pids()` reported on a device."""

    def __init__(self, what: str, list_pids: Callable[[], Iterable[int]]):
        self.what, self.list_pids = what, list_pids
        self.mine = own_pids()
        self.others: set[int] = set()

    def poll(self) -> None:
        self.others |= set(self.list_pids()) - self.mine

    def result(self, host_load: float | None) -> str | None:
        if not self.others:
            return None
        return f"{self.what}: other processes on it ({', '.join(map(str, sorted(self.others)))})"


class LoadWatch:
    """A CPU package (RAPL) is shared when other processes kept the host busy."""

    def __init__(self, what: str):
        self.what = what

    def poll(self) -> None:
        pass

    def result(self, host_load: float | None) -> str | None:
        if host_load is None or host_load <= SHARED_CPU_LOAD:
            return None
        return (
            f"{self.what}: other processes kept {host_load:.2f} cores busy on average "
            f"(/proc/stat; flagged above {SHARED_CPU_LOAD})"
        )


class Watcher:
    """Polls device watches in a daemon thread every `interval_s` (and at start and end)."""

    def __init__(self, watches: dict[str, ProcessWatch | LoadWatch], interval_s: float = 1.0):
        self.watches, self.interval_s = watches, interval_s
        self.load = HostLoad()
        self.host_load: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _poll(self) -> None:
        for watch in self.watches.values():
            watch.poll()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._poll()

    def __enter__(self) -> Watcher:
        self.load.start()
        self._poll()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()
        self.host_load = self.load.stop()

    def shared(self) -> dict[str, str | None]:
        """component -> why its counter was shared, or None where it was not."""
        return {c: w.result(self.host_load) for c, w in self.watches.items()}
