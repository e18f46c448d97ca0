"""Achieved efficiency per phase: energy per TFLOP and, where the device's peak is known,
the fraction of peak throughput reached."""

from __future__ import annotations

import pandas as pd

PHASES = ("encode", "denoise", "decode")


def phase_efficiency(
    runs: pd.DataFrame, flops: pd.DataFrame, peak_tflops: dict[str, float] | None = None
) -> pd.DataFrame:
    """One row per (cell, phase): flops, energy_j, j_per_tflop, achieved_tflops and, if the
    cell's `device_name` has a peak in `peak_tflops`, utilisation (achieved / peak)."""
    ok = runs[runs.status == "ok"].merge(flops, on=["model", "resolution", "frames"])
    phase_flops = {
        "encode": ok.encode_flops,
        "denoise": ok.denoise_step_flops * ok.steps,
        "decode": ok.decode_flops,
    }
    parts = []
    for phase in PHASES:
        part = ok[["cell_id", "model", "resolution", "frames", "steps", "device_name"]].copy()
        part["phase"] = phase
        part["flops"] = phase_flops[phase].astype(float)
        part["energy_j"] = ok[f"{phase}_energy_j"]
        part["duration_s"] = ok[f"{phase}_duration_s"]
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    tflops = table.flops / 1e12
    table["j_per_tflop"] = table.energy_j / tflops
    table["achieved_tflops"] = tflops / table.duration_s
    peaks = table.device_name.map(peak_tflops or {})
    table["utilisation"] = table.achieved_tflops / peaks
    return table
