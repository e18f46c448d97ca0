"""Idle power of a device: what it draws while no job runs, so rows can carry net energy."""

from __future__ import annotations

import time
from typing import Any

from vidcarbon.generation import JobContext, Measurement


def measure_idle(measurement: Measurement, duration_s: float) -> dict[str, Any]:
    """Measure each component's mean power (W) over `duration_s` seconds of sleep."""
    ctx = JobContext(measurement, {"kind": "idle"})

    def body(meter) -> None:
        with meter.window("idle"):
            time.sleep(duration_s)

    record = ctx.run(body)
    window = record["windows"][0]
    record["idle_power_w"] = {
        component: energy_j / window["duration_s"]
        for component, energy_j in window["energy_j"].items()
    }
    return record
