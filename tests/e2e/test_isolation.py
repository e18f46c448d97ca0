"""One measured job per device: two cells of the real DAG, `--cores 2`, on device-wide fake
counters (vidcarbon.energy.fake_devices), never overlap, and neither window holds the other's
energy."""

from __future__ import annotations

import pytest

from tests.conftest import small_config
from vidcarbon.energy import fake_devices
from vidcarbon.tables import read_table

pytestmark = pytest.mark.e2e


def driver_intervals(log) -> list[tuple[int, float, float]]:
    """(pid, start, end) of every process that drove a fake device, from its event log."""
    starts, intervals = {}, []
    for line in log.read_text().splitlines():
        t, delta, pid = line.split()
        if delta == "1":
            starts[pid] = float(t)
        elif delta == "-1":
            intervals.append((int(pid), starts.pop(pid), float(t)))
    assert not starts, "a job never stopped driving its device"
    return intervals


def overlapping(intervals) -> list[tuple[int, int]]:
    return [
        (a[0], b[0])
        for i, a in enumerate(intervals)
        for b in intervals[i + 1 :]
        if a[1] < b[2] and b[1] < a[2]
    ]


def isolation_config(device: str) -> dict:
    config = small_config()
    config["device"] = device
    config["grid"]["steps"] = [2, 3]  # two cells that Snakemake could run side by side
    if device == "cuda":
        config["carbon"] = {"device": "a100-80gb"}
    return config


@pytest.mark.parametrize("device, wide", [("cpu", "cpu"), ("cuda", "gpu")])
def test_two_cells_never_share_a_device_wide_counter(workdir, tmp_path, device, wide):
    fake = tmp_path / "fake-devices"
    workdir.write_config(isolation_config(device))
    workdir.write_prompts(["a heron wading at dawn"])
    env = {fake_devices.ENV: str(fake), "VIDCARBON_LOCK_DIR": str(tmp_path)}
    workdir.snakemake("results/runs.parquet", env=env)  # --cores 2

    runs = read_table("runs", workdir.path / "results" / "runs.parquet").to_pandas()
    assert len(runs) == 2 and set(runs.status) == {"ok"}
    assert set(runs[f"{wide}_method"]) == {"counter" if wide == "gpu" else "rapl"}

    # the text encoding and the two cells each drove the device, one after another
    log = fake / ("gpu0.log" if wide == "gpu" else "cpu.log")
    intervals = driver_intervals(log)
    assert len(intervals) == 3 and overlapping(intervals) == []

    # each phase holds its own energy: idle power plus one job's, never two (within 2 % and
    # the ~ms it takes to read a fake counter, which matters for the ms-long text encoding)
    idle_w, active_w = fake_devices.GPU_W if wide == "gpu" else fake_devices.CPU_W
    for phase in ("encode", "denoise", "decode"):
        own = (idle_w + active_w) * runs[f"{phase}_duration_s"]
        error = abs(runs[f"{phase}_{wide}_energy_j"] - own)
        assert (error <= 0.02 * own + (idle_w + active_w) * 0.01).all(), phase
    denoise_j = runs[f"denoise_{wide}_energy_j"]
    assert (denoise_j > (idle_w + active_w) * runs.denoise_duration_s * 0.98).all()
    # net of the idle baseline (which drove nothing): one job's active power
    net = runs[f"denoise_{wide}_energy_j"] - runs[f"idle_{wide}_power_w"] * runs.denoise_duration_s
    assert (abs(net / (active_w * runs.denoise_duration_s) - 1) < 0.05).all()
    assert (abs(runs[f"idle_{wide}_power_w"] - idle_w) < 0.01 * idle_w).all()
    assert not runs[f"{wide}_shared"].any() and runs.shared_detail.isna().all()
    assert runs.device_id.nunique() == 1 and runs.device_wait_s.notna().all()
