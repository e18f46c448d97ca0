"""Achieved efficiency per phase: energy per TFLOP and, where the device's peak is known,
the fraction of peak throughput reached."""

from __future__ import annotations

import pandas as pd

from vidcarbon.tables import PHASES


def gpu_peaks(devices: dict[str, dict]) -> dict[str, float]:
    """NVML name -> dense bf16 peak TFLOP/s, from the GPU entries of config/hardware.yaml."""
    return {
        spec["nvml_name"]: float(spec["peak_bf16_dense_tflops"])
        for spec in devices.values()
        if spec.get("kind") == "gpu" and "nvml_name" in spec and "peak_bf16_dense_tflops" in spec
    }


def phase_efficiency(
    runs: pd.DataFrame, flops: pd.DataFrame, peak_tflops: dict[str, float] | None = None
) -> pd.DataFrame:
    """One row per (cell, phase): flops, energy_j, j_per_tflop, achieved_tflops and, where the
    cell ran in bf16 on a GPU with a peak in `peak_tflops`, utilisation (achieved / the peak
    of the GPUs the phase held: a cell's N for denoising and decoding, the encode job's 1)."""
    ok = runs[runs.status == "ok"].merge(
        flops.drop(columns="dtype", errors="ignore").rename(columns={"method": "flops_method"}),
        on=["model", "resolution", "frames"],
    )
    phase_flops = {
        "encode": ok.encode_flops,
        "denoise": ok.denoise_step_flops * ok.steps,
        "decode": ok.decode_flops,
    }
    keys = ["cell_id", "model", "resolution", "frames", "steps", "device_name"]
    if "flops_method" in ok:
        keys.append("flops_method")
    parts = []
    for phase in PHASES:
        part = ok[keys].copy()
        part["phase"] = phase
        part["flops"] = phase_flops[phase].astype(float)
        part["energy_j"] = ok[f"{phase}_energy_j"]
        part["duration_s"] = ok[f"{phase}_duration_s"]
        part["bf16"] = ok["dtype"].eq("bfloat16") if "dtype" in ok else False
        part["gpus"] = 1 if phase == "encode" or "gpus" not in ok else ok["gpus"]
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    tflops = table.flops / 1e12
    table["j_per_tflop"] = table.energy_j / tflops
    table["achieved_tflops"] = tflops / table.duration_s
    peaks = table.device_name.map(peak_tflops or {}).where(table.bf16) * table.gpus
    table["utilisation"] = table.achieved_tflops / peaks
    return table.drop(columns="bf16")


def efficiency_markdown(table: pd.DataFrame) -> str:
    """Mean energy per TFLOP, throughput and utilisation per model and phase, as Markdown."""
    lines = ["## Achieved efficiency per phase", ""]
    if "flops_method" in table:
        methods = table.groupby("model").flops_method.first()
        lines += [f"- FLOPs of {m}: {how}" for m, how in methods.items()] + [""]
    lines += ["| model | device | phase | J per TFLOP | TFLOP/s | utilisation |"]
    lines += ["|---|---|---|---|---|---|"]
    summary = table.groupby(["model", "device_name", "phase"], sort=False)[
        ["j_per_tflop", "achieved_tflops", "utilisation"]
    ].mean()
    for (model, device, phase), row in summary.iterrows():
        utilisation = "" if pd.isna(row.utilisation) else f"{row.utilisation:.1%}"
        lines.append(
            f"| {model} | {device} | {phase} | {row.j_per_tflop:.3g} | "
            f"{row.achieved_tflops:.3g} | {utilisation} |"
        )
    return "\n".join(lines) + "\n"
