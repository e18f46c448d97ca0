"""Background power sampler: the job's power trace, per component, from prompt to video."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vidcarbon.energy.counters import EnergyCounter


@dataclass(frozen=True)
class PowerSample:
    """t_s: seconds since the sampler's origin; power_w: watts of `component`."""

    t_s: float
    component: str
    power_w: float


class PowerSampler:
    """Samples every counter each `interval_s` in a daemon thread.

    Counters with an instantaneous power reading use it; others are differentiated from
    their energy between samples.
    """

    def __init__(
        self, counters: Sequence[EnergyCounter], interval_s: float, origin: float | None = None
    ):
        self.counters = list(counters)
        self.interval_s = interval_s
        self.origin = time.monotonic() if origin is None else origin
        self.samples: list[PowerSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last_energy: list[tuple[float, float] | None] = [None] * len(self.counters)

    def _sample(self) -> None:
        now = time.monotonic()
        for i, counter in enumerate(self.counters):
            watts = counter.power_w()
            if watts is None:
                energy = counter.energy_j()
                last = self._last_energy[i]
                self._last_energy[i] = (now, energy)
                if last is None or now <= last[0]:
                    continue
                watts = (energy - last[1]) / (now - last[0])
            self.samples.append(PowerSample(now - self.origin, counter.component, watts))

    def _run(self) -> None:
        for counter in self.counters:  # derived readings start now, not at construction
            counter.power_w()
        self._sample()
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PowerSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
