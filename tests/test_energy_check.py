"""The energy check: the meter's windows against an independent reading of the device's energy
counter, driven by a fake NVML (the machine has no GPU) behind pynvml's and Zeus's APIs."""

from __future__ import annotations

import time

import pytest

import vidcarbon.workloads.measured
from tests.test_meter import FakeGPUs
from vidcarbon.energy.check import (
    TOLERANCE_PCT,
    NvmlReference,
    check_energy,
    trace_energy_j,
    verdict,
)
from vidcarbon.energy.counters import NvmlEnergyCounter
from vidcarbon.workloads.measured import Measurement


class FakeNvml:
    """The pynvml functions the reference reads, over a GPU drawing `watts` since creation."""

    def __init__(self, watts: float, limit_w: float = 700.0):
        self.watts, self.limit_w, self.t0 = watts, limit_w, time.monotonic()
        self.handles: list = []

    def nvmlInit(self):
        pass

    def nvmlDeviceGetHandleByIndex(self, index):
        self.handles.append(("index", index))
        return index

    def nvmlDeviceGetHandleByUUID(self, uuid):
        self.handles.append(("uuid", uuid))
        return uuid

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H200"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):  # mJ
        return int(self.watts * (time.monotonic() - self.t0) * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):  # mW
        return int(self.limit_w * 1000)


class MilliWattsAsWatts(FakeGPUs):
    """A GPU layer that reports joules where millijoules are expected (a unit bug)."""

    def get_total_energy_consumption(self, index):
        return super().get_total_energy_consumption(index) / 1000


def run_check(monkeypatch, meter_gpus, nvml, idle_power_w=60.0):
    """check_energy on this CPU, its meter reading `meter_gpus`, its reference `nvml`. The
    reference also counts the gaps between windows, which the meter leaves out: windows of about
    0.1 s here (384-square float32 products) keep that under 0.1 %, where 64-square ones
    (1.4 ms a window) let a scheduling delay in a gap pass the 2 % tolerance on a loaded CPU."""
    monkeypatch.setattr(
        vidcarbon.workloads.measured,
        "detect_counters",
        lambda *args, **kwargs: [NvmlEnergyCounter(meter_gpus)],
    )
    return check_energy(
        Measurement(device="cpu", trace_interval_s=0.01),
        idle_power_w,
        matrix_size=384,
        matmuls=300,
        windows=3,
        reference=NvmlReference(nvml),
    )


def test_a_meter_that_reads_the_counter_agrees_and_its_power_is_in_range(monkeypatch):
    record = run_check(monkeypatch, FakeGPUs(300.0), FakeNvml(300.0))
    check = record["check"]
    assert record["status"] == "ok"
    assert [w["name"] for w in record["windows"]] == ["load", "matmul_0", "matmul_1", "matmul_2"]
    assert check["matmuls"] == 900 and check["matmul_tflops"] > 0
    assert abs(check["difference_pct"]) <= TOLERANCE_PCT
    assert check["mean_power_w"] == pytest.approx(300.0, rel=0.02)
    assert check["power_limit_w"] == 700.0
    assert (check["agree"], check["power_in_range"], check["verdict"]) == (True, True, "pass")
    assert check["reference"] == "NVML total energy of NVIDIA H200"


def test_a_unit_error_in_the_meter_fails_the_check(monkeypatch):
    record = run_check(monkeypatch, MilliWattsAsWatts(300.0), FakeNvml(300.0))
    check = record["check"]
    assert check["verdict"] == "fail" and check["agree"] is False
    assert check["difference_pct"] < -99
    assert "allowed ±2 %" in check["detail"]


def test_a_meter_reading_another_gpu_fails_on_energy_and_power(monkeypatch):
    # the meter sees an idle GPU at 50 W while the checked GPU draws 300 W
    record = run_check(monkeypatch, FakeGPUs(50.0), FakeNvml(300.0), idle_power_w=60.0)
    check = record["check"]
    assert (check["agree"], check["power_in_range"], check["verdict"]) == (False, False, "fail")
    assert "not above idle 60.0 W" in check["detail"]


def test_without_a_counter_the_verdict_is_not_measured():
    out = verdict(None, None, None, 2.0, None)
    assert out["verdict"] == "not measured" and out["agree"] is None
    assert verdict(100.0, 101.0, 300.0, 60.0, 700.0)["verdict"] == "pass"
    assert verdict(100.0, 103.0, 300.0, 60.0, 700.0)["verdict"] == "fail"
    assert verdict(100.0, 100.0, 710.0, 60.0, 700.0)["power_in_range"] is False
    # one check failed, the other impossible: still a failure
    assert verdict(100.0, 150.0, None, 60.0, None)["verdict"] == "fail"


def test_the_reference_reads_the_gpu_cuda_sees(monkeypatch):
    nvml = FakeNvml(100.0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    NvmlReference(nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-5c1e,GPU-77aa")
    NvmlReference(nvml)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    NvmlReference(nvml)
    assert nvml.handles == [("index", 3), ("uuid", "GPU-5c1e"), ("index", 0)]


def test_trace_energy_integrates_the_samples_in_the_span():
    trace = [[0.0, "gpu", 100.0], [1.0, "gpu", 300.0], [2.0, "gpu", 300.0], [1.5, "cpu", 9.0]]
    assert trace_energy_j(trace, "gpu", 0.0, 2.0) == pytest.approx(200.0 + 300.0)
    assert trace_energy_j(trace, "gpu", 0.5, 2.0) == pytest.approx(300.0)
    assert trace_energy_j(trace, "gpu", 1.5, 2.0) is None
