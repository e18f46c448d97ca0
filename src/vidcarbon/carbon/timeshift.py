"""When a job runs: its carbon by hour of day and by month, and deferral to low-carbon hours.

Deferral simulates the paper's "online to offline generation" (§4): a job submitted at the
start of hour i may start at any hour j in [i, i + deadline_h - ceil(duration_h)] (so it ends
by the deadline) and starts at the one with the lowest intensity. Every hour of the series with
a full window ahead of it is a submission time; results are means over them. Embodied carbon
does not depend on when the job runs, so the saving is operational only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vidcarbon.carbon.intensity import HourlySeries


def job_intensity(series: HourlySeries, duration_s: float) -> np.ndarray:
    """Mean intensity seen by a job of `duration_s` starting at each hour (g CO2e/kWh).

    Entry j averages hours j, j+1, ... weighted by how much of each the job occupies; the
    array is shorter than the series by the hours a job started near the end would run past it.
    """
    hours = max(1, math.ceil(duration_s / 3600.0))
    weights = np.ones(hours)
    if duration_s > 3600.0:
        weights[-1] = duration_s / 3600.0 - (hours - 1)
    weights /= weights.sum()
    values = series.intensity_g_per_kwh
    if hours > len(values):
        raise ValueError(f"a {duration_s} s job is longer than the {len(values)} h series")
    return sliding_window_view(values, hours) @ weights


@dataclass(frozen=True)
class PeriodIntensity:
    """Mean intensity over the hours of one hour of day (0-23) or month (1-12)."""

    kind: str  # hour_of_day | month
    period: int
    hours: int
    intensity_g_per_kwh: float


def by_period(series: HourlySeries) -> list[PeriodIntensity]:
    """Mean intensity per hour of day and per month, on the series' own clock."""
    hour = np.array([t.hour for t in series.hours])
    month = np.array([t.month for t in series.hours])
    out = []
    for kind, keys in (("hour_of_day", hour), ("month", month)):
        for p in sorted(set(keys.tolist())):
            mask = keys == p
            out.append(
                PeriodIntensity(
                    kind, p, int(mask.sum()), float(series.intensity_g_per_kwh[mask].mean())
                )
            )
    return out


@dataclass(frozen=True)
class Deferral:
    """Mean outcome of deferring a job within a deadline window, over all submission hours."""

    deadline_h: int
    submissions: int
    mean_delay_h: float
    immediate_intensity_g_per_kwh: float
    deferred_intensity_g_per_kwh: float

    @property
    def intensity_saving_fraction(self) -> float:
        return 1.0 - self.deferred_intensity_g_per_kwh / self.immediate_intensity_g_per_kwh


def defer(series: HourlySeries, duration_s: float, deadline_h: int) -> Deferral:
    """Start each job at the lowest-intensity feasible hour; compare with starting at once."""
    per_start = job_intensity(series, duration_s)
    run_h = max(1, math.ceil(duration_s / 3600.0))
    choices = deadline_h - run_h + 1  # feasible start hours, the submission hour included
    if deadline_h < run_h:
        raise ValueError(
            f"deadline {deadline_h} h is shorter than the job ({duration_s:.0f} s); "
            "give a deadline of at least the job's length in whole hours"
        )
    if choices > len(per_start):
        raise ValueError(
            f"deadline {deadline_h} h does not fit in the {len(series.hours)} h series"
        )
    windows = sliding_window_view(per_start, choices)
    best = windows.argmin(axis=1)
    deferred = windows[np.arange(len(windows)), best]
    immediate = windows[:, 0]
    return Deferral(
        deadline_h=deadline_h,
        submissions=len(windows),
        mean_delay_h=float(best.mean()),
        immediate_intensity_g_per_kwh=float(immediate.mean()),
        deferred_intensity_g_per_kwh=float(deferred.mean()),
    )
