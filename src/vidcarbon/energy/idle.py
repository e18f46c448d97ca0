"""Idle power of a device: what it draws while no job runs, so rows can carry net energy."""

from __future__ import annotations

import time
from typing import Any

from vidcarbon.energy.counters import update_period_s
from vidcarbon.workloads.measured import JobContext, Measurement


def measure_idle(measurement: Measurement, duration_s: float) -> dict[str, Any]:
    """Each device-wide component's mean power (W) over `duration_s` seconds of sleep, and
    how often its counter updates (`counter_update_period_s`, after the idle window: the
    polling must not count as idle load), which decides the shortest window it resolves.

    A per-process counter (the CPU-time estimate) counts only the job's own work, so its
    figures are net of idle by construction: it is listed in `idle_not_applicable` instead of
    being given a near-zero idle power (the sampler thread's own CPU time while sleeping)."""
    ctx = JobContext(measurement, {"kind": "idle"})
    wide = [c.component for c in ctx.meter.counters if c.device_wide]
    periods: dict[str, float | None] = {}

    def body(meter) -> None:
        if wide:
            with meter.window("idle"):
                time.sleep(duration_s)
        for counter in meter.counters:
            if counter.device_wide:
                periods[counter.component] = update_period_s(counter)

    record = ctx.run(body)
    record["idle_not_applicable"] = [c.component for c in ctx.meter.counters if not c.device_wide]
    record["counter_update_period_s"] = periods
    record["idle_power_w"] = {}
    for window in record["windows"]:
        record["idle_power_w"] = {
            component: energy_j / window["duration_s"]
            for component, energy_j in window["energy_j"].items()
            if component in wide
        }
    return record
