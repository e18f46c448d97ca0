"""The CPU-time estimate's per-core power comes from the host's CPU (CodeCarbon's TDP table)."""

from __future__ import annotations

import pytest

from vidcarbon.energy import host_cpu
from vidcarbon.energy.host_cpu import (
    DEFAULT_POWER_PER_THREAD_W,
    HostCpu,
    codecarbon_tdp_table,
    detect_cpu_power,
    match_tdp,
    read_host_cpu,
)
from vidcarbon.workloads.measured import Measurement

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: {name}
cpu cores\t: {cores}
flags\t\t: fpu vme {flags}

processor\t: 1
vendor_id\t: AuthenticAMD
"""


@pytest.mark.parametrize(
    "name, table_name",
    [
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"),
        ("Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Platinum 8480+"),
        ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "Intel Xeon E5-2680 v4"),
        ("AMD EPYC", None),  # a VM's brand string: every EPYC matches, so none does
    ],
)
def test_model_names_match_codecarbons_table_as_codecarbon_does(name, table_name):
    table, label = codecarbon_tdp_table()
    assert label.startswith("codecarbon ") and label.endswith("data/hardware/cpu_power.csv")
    assert match_tdp(name, table) == table_name


def detect(monkeypatch, tmp_path, name, cores, flags=""):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO.format(name=name, cores=cores, flags=flags))
    host = read_host_cpu(path)
    monkeypatch.setattr(host_cpu, "read_host_cpu", lambda: host)
    detect_cpu_power.cache_clear()
    try:
        return detect_cpu_power()
    finally:
        detect_cpu_power.cache_clear()


def test_tdp_over_the_cores_named_in_the_model(monkeypatch, tmp_path):
    power = detect(monkeypatch, tmp_path, "AMD EPYC 7763 64-Core Processor", 8, "hypervisor")
    assert power.power_per_core_w == pytest.approx(280 / 64)  # not the VM's 8 vCPUs
    assert "AMD EPYC 7763 280 W / 64 cores ('64-Core' in the model name)" in power.source


def test_bare_metal_cores_come_from_cpuinfo(monkeypatch, tmp_path):
    power = detect(monkeypatch, tmp_path, "Intel(R) Xeon(R) Platinum 8480+", 56)
    assert power.power_per_core_w == pytest.approx(350 / 56)
    assert "/proc/cpuinfo 'cpu cores'" in power.source


def test_unknown_or_hidden_cpus_get_codecarbons_default_and_say_so(monkeypatch, tmp_path):
    unknown = detect(monkeypatch, tmp_path, "AMD EPYC", 2, "hypervisor")
    assert unknown.model_name == "AMD EPYC"
    assert unknown.power_per_core_w == DEFAULT_POWER_PER_THREAD_W
    assert "'AMD EPYC' is not in codecarbon" in unknown.source
    hidden = detect(monkeypatch, tmp_path, "Intel(R) Xeon(R) Platinum 8480+", 4, "hypervisor")
    assert hidden.power_per_core_w == DEFAULT_POWER_PER_THREAD_W
    assert "its core count is unknown (a virtual machine" in hidden.source


def test_read_host_cpu_parses_the_first_processor(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO.format(name="AMD EPYC", cores=2, flags="hypervisor avx2"))
    assert read_host_cpu(path) == HostCpu("AMD EPYC", "AuthenticAMD", 25, 1, 2, virtual=True)
    assert read_host_cpu(tmp_path / "absent") == HostCpu("unknown")


def test_a_configured_cpu_is_used_as_given():
    measurement = Measurement(
        cpu="epyc-7763", cpu_power_per_core_w=4.375, cpu_estimate_source="hardware entry"
    )
    power = measurement.cpu_power()
    assert (power.model_name, power.power_per_core_w) == ("epyc-7763", 4.375)
