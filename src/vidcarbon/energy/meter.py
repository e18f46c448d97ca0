"""A meter of named windows over a set of energy counters (the Zeus begin/end API)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from vidcarbon.energy.counters import EnergyCounter


@dataclass(frozen=True)
class Window:
    """One measured window.

    start_s: seconds since the meter was created; duration_s: wall time in seconds;
    energy_j: joules per component ("gpu", "cpu", "dram") over the window.
    """

    name: str
    start_s: float
    duration_s: float
    energy_j: dict[str, float] = field(default_factory=dict)

    @property
    def total_energy_j(self) -> float:
        return sum(self.energy_j.values())


class Meter:
    """Measures windows of time and energy; windows may nest (each name open once at a time).

    `synchronize` runs before every reading (e.g. `torch.cuda.synchronize`), so queued
    GPU work lands in the window that issued it.
    """

    def __init__(
        self, counters: Sequence[EnergyCounter], synchronize: Callable[[], None] = lambda: None
    ):
        self.counters = list(counters)
        self.synchronize = synchronize
        self.origin = time.monotonic()
        self.windows: list[Window] = []
        self._open: dict[str, tuple[float, list[float]]] = {}

    @property
    def methods(self) -> dict[str, str]:
        return {c.component: c.method for c in self.counters}

    @property
    def device_names(self) -> dict[str, str]:
        return {c.component: c.device_name for c in self.counters}

    def _read(self) -> tuple[float, list[float]]:
        self.synchronize()
        return time.monotonic(), [c.energy_j() for c in self.counters]

    def begin_window(self, name: str) -> None:
        if name in self._open:
            raise ValueError(f"window {name!r} is already open")
        self._open[name] = self._read()

    def end_window(self, name: str, synchronize: bool = True) -> Window:
        """Close window `name`; `synchronize=False` reads without waiting for queued work
        (a failed window: the queue, or the other ranks, may never catch up)."""
        if name not in self._open:
            raise ValueError(f"window {name!r} was never begun (open: {sorted(self._open)})")
        if synchronize:
            self.synchronize()
        t1, e1 = time.monotonic(), [c.energy_j() for c in self.counters]
        t0, e0 = self._open.pop(name)
        window = Window(
            name=name,
            start_s=t0 - self.origin,
            duration_s=t1 - t0,
            energy_j={c.component: b - a for c, a, b in zip(self.counters, e0, e1, strict=True)},
        )
        self.windows.append(window)
        return window

    @contextmanager
    def window(self, name: str) -> Iterator[None]:
        self.begin_window(name)
        try:
            yield
        except BaseException:
            if name in self._open:
                self.end_window(name, synchronize=False)
            raise
        if name in self._open:
            self.end_window(name)

    def get(self, name: str) -> Window:
        for w in self.windows:
            if w.name == name:
                return w
        raise KeyError(name)
