"""The meter and its counters, driven by fake NVML/RAPL devices behind Zeus's device API."""

import time
from dataclasses import dataclass

import pytest

from vidcarbon.energy.counters import (
    CpuTimeEstimate,
    IntegratedPowerCounter,
    NvmlEnergyCounter,
    RaplEnergyCounter,
    detect_counters,
)
from vidcarbon.energy.meter import Meter
from vidcarbon.energy.sampler import PowerSampler
from vidcarbon.errors import BackendUnavailable


class FakeGPUs:
    """Zeus `GPUs` API over a GPU that draws `power_w(t)`; energy is its exact integral."""

    def __init__(self, watts: float, energy_counter: bool = True):
        self.watts = watts
        self.t0 = time.monotonic()
        self.energy_counter = energy_counter

    def get_name(self, index):
        return "Fake H100"

    def get_uuid(self, index):
        return f"GPU-fake-meter-{index}"

    def get_compute_process_ids(self, index):  # nothing else runs on this GPU
        return []

    def supports_get_total_energy_consumption(self, index):
        return self.energy_counter

    def get_total_energy_consumption(self, index):  # mJ, as NVML
        return int(self.watts * (time.monotonic() - self.t0) * 1000)

    def get_instant_power_usage(self, index):  # mW
        return int(self.watts * 1000)


@dataclass
class FakeReading:
    cpu_mj: float
    dram_mj: float | None


class FakeCPUs:
    """Zeus `CPUs` API: two packages, each 100 W package and 10 W DRAM."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __len__(self):
        return 2

    def get_total_energy_consumption(self, index):
        elapsed = time.monotonic() - self.t0
        return FakeReading(cpu_mj=100_000 * elapsed, dram_mj=10_000 * elapsed)

    def supports_get_dram_energy_consumption(self, index):
        return True


def close_to(a, b, rel=0.02, abs_=1e-3):
    return abs(a - b) <= max(rel * abs(b), abs_)


def test_nvml_counter_windows_nest_and_add_up():
    syncs = []
    meter = Meter([NvmlEnergyCounter(FakeGPUs(250.0))], synchronize=lambda: syncs.append(1))
    meter.begin_window("denoise")
    for i in range(3):
        with meter.window(f"step_{i}"):
            time.sleep(0.05)
    denoise = meter.end_window("denoise")
    steps = [meter.get(f"step_{i}") for i in range(3)]
    assert close_to(denoise.energy_j["gpu"], 250.0 * denoise.duration_s, rel=0.02)
    assert sum(s.energy_j["gpu"] for s in steps) <= denoise.energy_j["gpu"] + 1e-3
    assert close_to(sum(s.duration_s for s in steps), denoise.duration_s, rel=0.1)
    assert len(syncs) == 2 * 4  # every reading is fenced by synchronize
    assert meter.methods == {"gpu": "counter"}


def test_meter_rejects_misuse():
    meter = Meter([CpuTimeEstimate(5.0)])
    meter.begin_window("a")
    with pytest.raises(ValueError, match="already open"):
        meter.begin_window("a")
    with pytest.raises(ValueError, match="never begun"):
        meter.end_window("b")


def test_integrated_counter_matches_constant_power():
    counter = IntegratedPowerCounter(FakeGPUs(300.0, energy_counter=False), interval_s=0.01)
    try:
        meter = Meter([counter])
        with meter.window("w"):
            time.sleep(0.2)
        window = meter.get("w")
        assert close_to(window.energy_j["gpu"], 300.0 * window.duration_s, rel=0.02)
        assert meter.methods == {"gpu": "integrated"}
    finally:
        counter.close()


def test_rapl_counters_sum_packages():
    cpus = FakeCPUs()
    meter = Meter([RaplEnergyCounter(cpus, "cpu"), RaplEnergyCounter(cpus, "dram")])
    with meter.window("w"):
        time.sleep(0.1)
    w = meter.get("w")
    assert close_to(w.energy_j["cpu"], 200.0 * w.duration_s, rel=0.03)
    assert close_to(w.energy_j["dram"], 20.0 * w.duration_s, rel=0.03)
    assert meter.methods == {"cpu": "rapl", "dram": "rapl"}


def test_cpu_estimate_follows_cpu_time_not_wall_time():
    meter = Meter([CpuTimeEstimate(power_per_core_w=4.0)])
    with meter.window("sleep"):
        time.sleep(0.2)
    cpu_before = time.process_time()
    with meter.window("busy"):
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            pass
    cpu_busy_s = time.process_time() - cpu_before
    assert meter.get("sleep").energy_j["cpu"] < 0.1 * 4.0 * 0.2
    assert close_to(meter.get("busy").energy_j["cpu"], 4.0 * cpu_busy_s, rel=0.05, abs_=0.01)
    assert cpu_busy_s > 0.05  # the loop really ran on a core
    assert meter.methods == {"cpu": "estimated"}


def test_sampler_traces_instant_and_derived_power():
    gpu = NvmlEnergyCounter(FakeGPUs(200.0))
    rapl = RaplEnergyCounter(FakeCPUs(), "cpu")
    with PowerSampler([gpu, rapl], interval_s=0.02) as sampler:
        time.sleep(0.2)
    gpu_w = [s.power_w for s in sampler.samples if s.component == "gpu"]
    cpu_w = [s.power_w for s in sampler.samples if s.component == "cpu"]
    assert len(gpu_w) >= 5 and all(w == 200.0 for w in gpu_w)
    assert len(cpu_w) >= 4 and all(close_to(w, 200.0, rel=0.15) for w in cpu_w)
    times = [s.t_s for s in sampler.samples]
    assert times == sorted(times)


def test_this_host_has_no_counters_and_says_so():
    counters = detect_counters("cpu", 5.0)
    if any(c.method == "rapl" for c in counters):
        pytest.skip("this host exposes RAPL")
    assert [(c.component, c.method) for c in counters] == [("cpu", "estimated")]


def test_cuda_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BackendUnavailable, match="has no GPU.*GPU node.*device: cpu"):
        detect_counters("cuda", 5.0)
