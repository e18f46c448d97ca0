"""The Snakemake side of the device's own measurements, run in the job's process (no model,
nothing to isolate): `idle_baseline` and `energy_check`."""

from __future__ import annotations

import logging
from typing import Any

from vidcarbon.records import read_json, write_json_atomic

log = logging.getLogger(__name__)


def idle_baseline(measurement: dict[str, Any], duration_s: float, record_path: str) -> dict:
    """Measure the device's idle power (`vidcarbon.energy.idle`)."""
    from vidcarbon.energy.idle import measure_idle
    from vidcarbon.workloads.measured import Measurement

    record = measure_idle(Measurement(**measurement), duration_s)
    write_json_atomic(record_path, record)
    return record


def energy_check(
    measurement: dict[str, Any], load: dict[str, int], idle_record_path: str, record_path: str
) -> dict:
    """The meter against the device's own energy counter (`vidcarbon.energy.check`);
    `load`: matrix_size, matmuls (per window), windows."""
    from vidcarbon.energy.check import check_energy
    from vidcarbon.workloads.measured import Measurement

    idle = read_json(idle_record_path)
    idle_w = idle.get("idle_power_w", {}).get("gpu") if idle["status"] == "ok" else None
    record = check_energy(Measurement(**measurement), idle_w, **load)
    log.info("energy check: %s", record["check"])
    write_json_atomic(record_path, record)
    return record
