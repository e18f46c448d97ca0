"""The device lock, the sharing checks and the fake device-wide counters they are tested on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from vidcarbon.energy import fake_devices
from vidcarbon.energy.counters import NvmlEnergyCounter, update_period_s
from vidcarbon.energy.device_lock import hold_device
from vidcarbon.energy.idle import measure_idle
from vidcarbon.energy.meter import Meter
from vidcarbon.energy.sharing import SHARED_CPU_LOAD, HostLoad, LoadWatch, own_pids
from vidcarbon.workloads.measured import JobContext, Measurement
from vidcarbon.workloads.rows import measurement_columns

HOLD = """
import sys, time
from vidcarbon.energy.device_lock import hold_device
with hold_device(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""

DRIVE = """
import sys, time
from pathlib import Path
from vidcarbon.energy.fake_devices import FakeGPUs
with FakeGPUs(Path(sys.argv[1])).devices[0].driven():
    print("driving", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def start(script: str, *args: str) -> subprocess.Popen:
    """A helper process, once it has printed its first line (it holds what it should)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() in ("held", "driving")
    return proc


def test_a_second_job_waits_for_the_device(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCARBON_LOCK_DIR", str(tmp_path))
    other = start(HOLD, "gpu:GPU-test", "1.0")
    with hold_device("gpu:GPU-test") as waited_s:
        pass
    other.wait()
    assert waited_s > 0.5  # the other held it for 1 s
    with hold_device("gpu:GPU-other") as waited_s:  # another device: no wait
        assert waited_s < 0.1


def test_two_drivers_leak_into_each_others_window_and_are_named(tmp_path):
    """What the lock prevents: on a device-wide counter, a window holds the other's energy."""
    gpus = fake_devices.FakeGPUs(tmp_path)
    counter = NvmlEnergyCounter(gpus, 0)
    meter, watch = Meter([counter]), counter.watch()
    other = start(DRIVE, str(tmp_path), "1.0")
    with gpus.devices[0].driven(), meter.window("w"):
        watch.poll()
        time.sleep(0.3)
    other.wait()
    window = meter.get("w")
    idle_w, active_w = fake_devices.GPU_W
    assert window.energy_j["gpu"] == pytest.approx(
        (idle_w + 2 * active_w) * window.duration_s, rel=0.05
    )
    assert str(other.pid) in watch.result(None)
    assert os.getpid() in own_pids()


def test_a_job_flags_a_gpu_another_process_drives(tmp_path, monkeypatch):
    monkeypatch.setenv(fake_devices.ENV, str(tmp_path))
    monkeypatch.setenv("VIDCARBON_LOCK_DIR", str(tmp_path))
    ctx = JobContext(Measurement(device="cuda"), {"kind": "generate"})
    assert ctx.device_id.startswith("gpu:GPU-fake-")
    other = start(DRIVE, str(tmp_path), "1.0")  # a process that ignores the lock

    def body(meter):
        with meter.window("denoise"):
            time.sleep(0.3)

    record = ctx.run(body)
    other.wait()
    assert f"other processes on it ({other.pid})" in record["shared"]["gpu"]
    row = measurement_columns(record, {})
    assert row["gpu_shared"] is True and str(other.pid) in row["shared_detail"]
    assert row["cpu_shared"] is False  # the fake RAPL package had only this job on it


def test_host_load_flags_rapl_above_the_threshold():
    watch = LoadWatch("cpu (RAPL, whole package)")
    assert watch.result(None) is None and watch.result(SHARED_CPU_LOAD / 2) is None
    assert "1.50 cores busy" in watch.result(1.5)
    load = HostLoad()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        load.start()
        time.sleep(0.5)
        assert load.stop() > 0.5  # the busy loop, at least
    finally:
        busy.kill()


def test_idle_does_not_apply_to_the_cpu_time_estimate():
    start_s = time.monotonic()
    record = measure_idle(Measurement(), duration_s=600.0)
    # nothing to measure, so no 600 s wait (a margin wide enough for a loaded test machine)
    assert time.monotonic() - start_s < 60.0
    assert record["idle_not_applicable"] == ["cpu"] and record["idle_power_w"] == {}
    row = measurement_columns({"methods": {"cpu": "estimated"}}, record)
    assert row["idle_cpu_power_w"] is None and row["idle_subtraction"] == "cpu: not applicable"
    assert row["cpu_shared"] is None  # a per-process counter cannot be shared


def test_idle_of_a_device_wide_counter_is_measured(tmp_path, monkeypatch):
    monkeypatch.setenv(fake_devices.ENV, str(tmp_path))
    monkeypatch.setenv("VIDCARBON_LOCK_DIR", str(tmp_path))
    record = measure_idle(Measurement(), duration_s=0.3)
    idle_w = record["idle_power_w"]
    assert idle_w["cpu"] == pytest.approx(fake_devices.CPU_W[0], rel=0.02)
    assert idle_w["dram"] == pytest.approx(fake_devices.DRAM_W[0], rel=0.02)
    row = measurement_columns({"methods": {"cpu": "rapl", "dram": "rapl"}}, record)
    assert row["idle_subtraction"] == "cpu: subtracted; dram: subtracted"
    # the fake counters change at every read: their period is the polling interval's order
    periods = record["counter_update_period_s"]
    assert set(periods) == {"cpu", "dram"} and all(0 < p < 0.05 for p in periods.values())


class SteppedCounter:
    """A counter that, like NVML's on some GPUs, updates only every `period_s`."""

    def __init__(self, period_s: float):
        self.period_s, self.start = period_s, time.perf_counter()

    def energy_j(self) -> float:
        return 100.0 * ((time.perf_counter() - self.start) // self.period_s)


@pytest.mark.parametrize("period_s", [0.02, 0.1])
def test_a_counters_update_period_is_measured(period_s):
    measured = update_period_s(SteppedCounter(period_s), duration_s=0.6)
    assert measured == pytest.approx(period_s, rel=0.2)


def test_a_counter_that_never_changes_has_no_period():
    assert update_period_s(SteppedCounter(10.0), duration_s=0.1) is None


class FakeZeusGPUs(fake_devices.FakeGPUs):
    """Zeus's NVIDIAGPUs over the fake devices, recording which process initialised NVML."""

    def __init__(self, ensure_homogeneous: bool = False):
        super().__init__(fake_devices.root())
        self.initialised_by = os.getpid()


def test_a_job_forked_after_its_parent_touched_nvml_initialises_it_again(tmp_path, monkeypatch):
    """As a warm-worker child is forked from a server: the parent opens the GPU through Zeus
    (fake NVML devices behind Zeus's own get_gpus singleton), then forks; the child's counter
    is made by the child (nvmlInit again, not the parent's handles) and reads the device."""
    import zeus.device.gpu as zeus_gpus

    from vidcarbon.energy import counters

    monkeypatch.setenv(fake_devices.ENV, str(tmp_path))
    monkeypatch.setattr(zeus_gpus, "nvml_is_available", lambda: True)
    monkeypatch.setattr(zeus_gpus, "NVIDIAGPUs", FakeZeusGPUs)
    monkeypatch.setattr(zeus_gpus, "_gpus", None)
    parent = counters._nvml_gpus()
    assert parent._gpus.initialised_by == os.getpid()
    assert counters._nvml_gpus()._gpus is parent._gpus  # one per process, as Zeus keeps it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the job
        try:
            gpus = counters._nvml_gpus()
            counter = NvmlEnergyCounter(gpus, 0)
            result = [gpus._gpus.initialised_by == os.getpid(), counter.energy_j()]
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    fresh, energy_j = json.loads(os.read(read, 1000))
    assert fresh, "the forked job used the parent's NVML handles"
    assert energy_j > 0
