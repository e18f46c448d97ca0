"""The host CPU, and the per-core power of the CPU-time estimate (`CpuTimeEstimate`).

With `measurement.cpu: auto` (the default) each job detects the CPU it runs on, as CodeCarbon
does: the model name the kernel reports (`/proc/cpuinfo`, the brand string CodeCarbon reads
through py-cpuinfo) looked up in CodeCarbon's packaged TDP table (`data/hardware/cpu_power.csv`,
read from the installed package without importing CodeCarbon, whose import probes hardware).
The lookup follows CodeCarbon's rule (`codecarbon.core.cpu.TDP`): an exact, case-insensitive
name match after dropping "(R)", "CPU" and the clock suffix, else the single table entry whose
name tokens are a subset of the detected name's (or the reverse); two or more such entries are
no match.

Per-core power = TDP / cores of the package. The core count comes from the name (AMD's brand
strings end in "<n>-Core Processor") or, outside a virtual machine, from `/proc/cpuinfo`; a VM
shows its own vCPUs, not the package's cores. Without a TDP or a core count the estimate uses
CodeCarbon's default of 4 W per thread (`codecarbon.core.cpu.DEFAULT_POWER_PER_CORE`), and
`source` says so.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_POWER_PER_THREAD_W = 4.0  # CodeCarbon's DEFAULT_POWER_PER_CORE (W per thread)


@dataclass(frozen=True)
class HostCpu:
    """What the kernel says about the CPU: brand string, CPUID vendor/family/model, and the
    cores per package it shows (a VM's own count under a hypervisor)."""

    model_name: str
    vendor: str | None = None
    family: int | None = None
    model: int | None = None
    cores_per_package: int | None = None
    virtual: bool = False


@dataclass(frozen=True)
class CpuPower:
    """The per-core power the CPU-time estimate charges, and where it comes from."""

    model_name: str
    power_per_core_w: float
    source: str


def read_host_cpu(cpuinfo: str | Path = "/proc/cpuinfo") -> HostCpu:
    """Parse the first processor block of `/proc/cpuinfo` (Linux); "unknown" elsewhere."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return HostCpu("unknown")
    fields: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()

    def number(key: str) -> int | None:
        value = fields.get(key, "")
        return int(value) if value.isdigit() else None

    return HostCpu(
        model_name=fields.get("model name", "unknown"),
        vendor=fields.get("vendor_id"),
        family=number("cpu family"),
        model=number("model"),
        cores_per_package=number("cpu cores"),
        virtual="hypervisor" in fields.get("flags", "").split(),
    )


def codecarbon_tdp_table() -> tuple[dict[str, float], str]:
    """CodeCarbon's `cpu_power.csv` as {name: TDP W}, and a label naming its version."""
    spec = importlib.util.find_spec("codecarbon")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return {}, "codecarbon is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "data/hardware/cpu_power.csv"
    table = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                table[row["Name"]] = float(row["TDP"])
            except ValueError:  # a few rows hold ranges such as "27.29.5"
                continue
    version = importlib.metadata.version("codecarbon")
    return table, f"codecarbon {version} data/hardware/cpu_power.csv"


def _tokens(name: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", name.lower()))


def _normalise(name: str) -> str:
    name = name.replace("(R)", "").replace("(TM)", "")
    name = name.split(" CPU @ ")[0].replace(" CPU", "")
    return re.sub(r"\s*@\s*\d+(\.\d+)?\s*GHz", "", name).strip()


def match_tdp(model_name: str, table: dict[str, float]) -> str | None:
    """The table entry for `model_name` by CodeCarbon's rule (module docstring), or None."""
    by_lower = {name.lower(): name for name in table}
    for candidate in (model_name, _normalise(model_name)):
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    wanted = _tokens(_normalise(model_name))
    if not wanted:
        return None
    matches = [n for n in table if (t := _tokens(n)) and (t <= wanted or wanted <= t)]
    return matches[0] if len(matches) == 1 else None


def package_cores(host: HostCpu) -> tuple[int | None, str]:
    """Cores of one package, and how they were found (None where a VM hides them)."""
    found = re.search(r"(\d+)-Core", host.model_name)
    if found:
        return int(found[1]), f"'{found[0]}' in the model name"
    if host.cores_per_package and not host.virtual:
        return host.cores_per_package, "/proc/cpuinfo 'cpu cores'"
    return None, "a virtual machine shows its vCPUs, not the package's cores"


@lru_cache(maxsize=1)
def detect_cpu_power() -> CpuPower:
    """Per-core power of this host's CPU from CodeCarbon's TDP table (see module docstring)."""
    host = read_host_cpu()
    table, label = codecarbon_tdp_table()
    match = match_tdp(host.model_name, table)
    default = f"CodeCarbon's default {DEFAULT_POWER_PER_THREAD_W:g} W per thread"
    if match is None:
        return CpuPower(
            host.model_name,
            DEFAULT_POWER_PER_THREAD_W,
            f"{default}: {host.model_name!r} is not in {label}",
        )
    cores, how = package_cores(host)
    if cores is None:
        return CpuPower(
            host.model_name,
            DEFAULT_POWER_PER_THREAD_W,
            f"{default}: {match} is {table[match]:g} W in {label}, but its core count is "
            f"unknown ({how})",
        )
    return CpuPower(
        host.model_name,
        table[match] / cores,
        f"{label}: {match} {table[match]:g} W / {cores} cores ({how})",
    )


def configured_cpu_power(name: str, spec: dict, hardware_path: str) -> CpuPower:
    """Per-core power of a CPU named in the hardware file (`measurement.cpu: <entry>`)."""
    tdp_w, cores = float(spec["tdp_w"]), int(spec["cores"])
    return CpuPower(
        name, tdp_w / cores, f"{hardware_path} entry {name}: {tdp_w:g} W / {cores} cores"
    )


def matching_entry(host: HostCpu, devices: dict[str, dict]) -> str | None:
    """The hardware-file CPU entry whose `cpuid` (vendor, family, model range) covers `host`."""
    for name, spec in devices.items():
        cpuid = spec.get("cpuid")
        if spec.get("kind") != "cpu" or not cpuid or host.family is None or host.model is None:
            continue
        low, high = cpuid["models"]
        if (
            cpuid["vendor"] == host.vendor
            and cpuid["family"] == host.family
            and low <= host.model <= high
        ):
            return name
    return None


def nearest_entry(host: HostCpu, devices: dict[str, dict]) -> str | None:
    """The CPU entry of `host`'s vendor whose `cpuid` is nearest to it, for a host no entry
    covers: the nearest family; within it the nearest model range, or, from an older (newer)
    family, the entry with the lowest (highest) models, the nearest generation. None when no
    entry has its vendor."""
    if host.family is None or host.model is None:
        return None

    def distance(cpuid: dict) -> tuple[int, int]:
        low, high = cpuid["models"]
        if cpuid["family"] == host.family:
            return 0, max(low - host.model, host.model - high, 0)
        older = host.family < cpuid["family"]
        return abs(cpuid["family"] - host.family), low if older else 255 - high

    candidates = [
        (distance(spec["cpuid"]), name)
        for name, spec in devices.items()
        if spec.get("kind") == "cpu" and spec.get("cpuid", {}).get("vendor") == host.vendor
    ]
    return min(candidates)[1] if candidates else None
