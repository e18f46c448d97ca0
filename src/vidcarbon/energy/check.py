"""The energy check: does the meter agree with the device's own energy counter?

A fixed matrix-product load runs in contiguous meter windows (`matmul_i`). The device's
total-energy counter is also read straight from NVML (nvidia-ml-py, not through Zeus) right
before the first window and right after the last: the windows' GPU energy must match that
difference within `TOLERANCE_PCT`, and the load's mean power must lie between the device's idle
power (from idle_baseline) and its enforced power limit. Together these catch a meter that
reads another GPU, converts units wrongly, loses energy between windows, or closes a window
before the GPU has finished the work queued in it. A failed check is a recorded verdict, not a
crash. Where NVML is absent (device cpu) the reference is missing and the verdict says so.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from vidcarbon.workloads.measured import JobContext, Measurement

TOLERANCE_PCT = 2.0


class NvmlReference:
    """The GPU's total-energy counter (mJ) and enforced power limit (mW), read from NVML.

    `nvml` is the `pynvml` module (tests pass a fake with the same functions). The GPU is the
    first one of CUDA_VISIBLE_DEVICES (an index or a GPU-UUID), else index 0, as CUDA sees it.
    """

    def __init__(self, nvml=None):
        if nvml is None:
            import pynvml as nvml
        self.nvml = nvml
        nvml.nvmlInit()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        if visible.startswith("GPU-"):
            self.handle = nvml.nvmlDeviceGetHandleByUUID(visible)
        else:
            self.handle = nvml.nvmlDeviceGetHandleByIndex(int(visible) if visible else 0)
        name = nvml.nvmlDeviceGetName(self.handle)
        self.device_name = name.decode() if isinstance(name, bytes) else name

    def energy_j(self) -> float:
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0

    def power_limit_w(self) -> float:
        return self.nvml.nvmlDeviceGetEnforcedPowerLimit(self.handle) / 1000.0


def trace_energy_j(trace: list[list], component: str, start_s: float, end_s: float) -> float | None:
    """Energy (J) of `component` between two times, integrating the sampled power trace
    (trapezoids); None with fewer than two samples in the span."""
    points = [(t, w) for t, c, w in trace if c == component and start_s <= t <= end_s]
    if len(points) < 2:
        return None
    return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in itertools.pairwise(points))


def verdict(
    meter_j: float | None,
    reference_j: float | None,
    mean_power_w: float | None,
    idle_power_w: float | None,
    power_limit_w: float | None,
) -> dict[str, Any]:
    """The two checks and an overall verdict: pass | fail | not measured, with the reason."""
    difference_pct = agree = in_range = None
    reasons = []
    if meter_j is None or reference_j is None or reference_j <= 0:
        reasons.append("no device energy counter to compare with (NVML absent or unreadable)")
    else:
        difference_pct = 100.0 * (meter_j - reference_j) / reference_j
        agree = abs(difference_pct) <= TOLERANCE_PCT
        if not agree:
            reasons.append(
                f"meter {meter_j:.1f} J vs counter {reference_j:.1f} J: "
                f"{difference_pct:+.2f} % (allowed ±{TOLERANCE_PCT:g} %)"
            )
    if None in (mean_power_w, idle_power_w, power_limit_w):
        reasons.append("mean power not compared (idle power or power limit unknown)")
    else:
        in_range = idle_power_w < mean_power_w <= power_limit_w
        if not in_range:
            reasons.append(
                f"mean power {mean_power_w:.1f} W is not above idle {idle_power_w:.1f} W "
                f"and at most the limit {power_limit_w:.1f} W"
            )
    if agree is None or in_range is None:
        result = "fail" if False in (agree, in_range) else "not measured"
    else:
        result = "pass" if agree and in_range else "fail"
    return {
        "difference_pct": difference_pct,
        "tolerance_pct": TOLERANCE_PCT,
        "agree": agree,
        "power_in_range": in_range,
        "verdict": result,
        "detail": "; ".join(reasons) or "both checks hold",
    }


def check_energy(
    measurement: Measurement,
    idle_power_w: float | None,
    matrix_size: int,
    matmuls: int,
    windows: int,
    reference: NvmlReference | None = None,
) -> dict[str, Any]:
    """Run `windows` x `matmuls` products of two `matrix_size`-square matrices (bf16 on cuda,
    float32 on cpu) in windows `matmul_0..`; the record holds the windows and `check`.

    `reference`: the independent counter (default: NVML on cuda, none on cpu).
    `idle_power_w`: the device's idle power (W) measured by idle_baseline.
    """
    import torch

    ctx = JobContext(measurement, {"kind": "energy_check"})
    device = measurement.device
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if reference is None and device == "cuda":
        reference = NvmlReference()
    readings: dict[str, float] = {}

    def body(meter) -> None:
        with meter.window("load"):
            generator = torch.Generator(device=device).manual_seed(0)
            a, b = (
                torch.randn(matrix_size, matrix_size, generator=generator, device=device)
                .to(dtype)
                .div_(matrix_size**0.5)
                for _ in range(2)
            )
            out = torch.empty_like(a)
            for _ in range(3):  # kernel selection and clocks outside the measured windows
                torch.mm(a, b, out=out)
        meter.synchronize()
        if reference is not None:
            readings["start_j"] = reference.energy_j()
        for i in range(windows):
            with meter.window(f"matmul_{i}"):
                for _ in range(matmuls):
                    torch.mm(a, b, out=out)
        meter.synchronize()
        if reference is not None:
            readings["end_j"] = reference.energy_j()

    record = ctx.run(body)
    loads = [w for w in record["windows"] if w["name"].startswith("matmul_")]
    duration_s = sum(w["duration_s"] for w in loads)
    measured = loads and all("gpu" in w["energy_j"] for w in loads)
    meter_j = sum(w["energy_j"]["gpu"] for w in loads) if measured else None
    reference_j = readings["end_j"] - readings["start_j"] if "end_j" in readings else None
    mean_power_w = meter_j / duration_s if meter_j is not None and duration_s > 0 else None
    power_limit_w = reference.power_limit_w() if reference is not None else None
    span = (loads[0]["start_s"], loads[-1]["start_s"] + loads[-1]["duration_s"]) if loads else None
    flops = 2.0 * matrix_size**3 * matmuls * len(loads)
    record["check"] = {
        "matrix_size": matrix_size,
        "matmuls": matmuls * len(loads),
        "dtype": str(dtype).removeprefix("torch."),
        "duration_s": duration_s,
        "matmul_tflops": flops / duration_s / 1e12 if duration_s > 0 else None,
        "meter_energy_j": meter_j,
        "reference_energy_j": reference_j,
        "reference": None if reference is None else f"NVML total energy of {reference.device_name}",
        "trace_energy_j": trace_energy_j(record["trace"], "gpu", *span) if span else None,
        "mean_power_w": mean_power_w,
        "idle_power_w": idle_power_w,
        "power_limit_w": power_limit_w,
        **verdict(meter_j, reference_j, mean_power_w, idle_power_w, power_limit_w),
    }
    if record["status"] != "ok":
        record["check"].update(verdict="not measured", detail=f"job {record['status']}")
    return record
