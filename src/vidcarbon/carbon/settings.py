"""The `carbon:` config section, checked and resolved when the Snakefile is parsed.

Everything the carbon rule needs travels as plain data in its `params:` (resolved scenarios,
the charged device's specs, not the hardware file), so that editing an unrelated hardware
entry reruns nothing, and any bad value stops Snakemake before a result is overwritten.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any

from vidcarbon.carbon.accounting import Assumptions
from vidcarbon.carbon.embodied import charged_sources
from vidcarbon.carbon.intensity import Scenario, resolve_scenarios
from vidcarbon.config import grid_reference, load_hardware
from vidcarbon.errors import ConfigError


@dataclass(frozen=True)
class CarbonSettings:
    """The resolved `carbon:` section plus what it needs from the rest of the config."""

    assumptions: dict[str, float]
    device: str
    scope: str
    node: str | None
    embodied_sources: list[str]  # published sources charged besides ACT's model (the headline)
    hardware: dict[str, dict]  # only the entries the charged device and node need
    scenarios: list[dict[str, Any]]
    deadlines_h: list[int]
    credits: dict[str, Any]

    @property
    def series_paths(self) -> list[str]:
        return [s["series_path"] for s in self.scenarios if s["series_path"]]

    def as_params(self) -> dict[str, Any]:
        return asdict(self)


def _needed_entries(device: str, node: str | None, devices: dict[str, dict]) -> dict[str, dict]:
    names = {device}
    if node:
        spec = devices[node]
        names |= {node, spec.get("cpu"), spec.get("accelerator")} - {None}
    # descriptions are prose: editing one must not rerun carbon
    return {n: {k: v for k, v in devices[n].items() if k != "description"} for n in sorted(names)}


def _credit_reference(config: dict) -> dict[str, Any]:
    """The measured configuration credits are relative to (picked from the grid if unset)."""
    resolution, _ = grid_reference(config, "carbon.credits.reference_resolution")
    duration, _ = grid_reference(config, "carbon.credits.reference_duration_s")
    steps, _ = grid_reference(config, "carbon.credits.reference_steps")
    return {
        "resolution": resolution,
        "frames": round(duration * config["fps"]),
        "steps": steps,
        "credits": config["carbon"]["credits"]["reference_credits"],
    }


def _credit_scenario(name: str | None, scenarios: list[Scenario]) -> str:
    names = [s.name for s in scenarios]
    if name is None:
        series = [s.name for s in scenarios if s.kind == "timeseries"]
        return (series or names)[0]
    if name not in names:
        raise ConfigError(
            f"config key 'carbon.credits.scenario': {name!r} is not a scenario name; "
            f"allowed: {', '.join(names)}"
        )
    return name


def _host_cpu_entry(config: dict, devices: dict[str, dict]) -> str:
    """The hardware entry of the CPU a CPU run runs on: measurement.cpu if it names one, else
    the entry whose `cpuid` covers this host's CPU (the host that builds the DAG), else the
    nearest entry of its vendor, said on stderr as the assumption it is (a VM often reports
    a CPU model that no product has)."""
    from vidcarbon.energy.host_cpu import matching_entry, nearest_entry, read_host_cpu

    named = config["measurement"]["cpu"]
    if named != "auto":
        return named
    host = read_host_cpu()
    entry = matching_entry(host, devices)
    if entry is not None:
        return entry
    described = f"{host.model_name!r}, {host.vendor} family {host.family} model {host.model}"
    cpus = ", ".join(k for k, v in devices.items() if v.get("kind") == "cpu")
    nearest = nearest_entry(host, devices)
    if nearest is None:
        raise ConfigError(
            f"config key 'carbon.device': not set, and this host's CPU ({described}) matches "
            f"no `cpuid` of a cpu entry in {config['hardware']}, nor its vendor; name the "
            f"CPU whose embodied carbon is charged (allowed: {cpus}) or add a cpuid to its entry"
        )
    print(
        f"vidcarbon: this host's CPU ({described}) matches no `cpuid` in "
        f"{config['hardware']}: its embodied carbon is charged as {nearest}, the nearest entry "
        f"of its vendor (an assumption; set carbon.device to one of {cpus} to choose)",
        file=sys.stderr,
    )
    return nearest


def carbon_settings(config: dict) -> CarbonSettings:
    """Check and resolve config['carbon'] (already schema-validated, defaults filled)."""
    c = config["carbon"]
    assume = Assumptions(c["pue"], c["lifetime_years"], c["utilisation"])
    devices = load_hardware(config["hardware"])
    device = c.get("device")
    if device is None:
        if config["device"] != "cpu":
            raise ConfigError(
                f"config key 'carbon.device': not set, and device is {config['device']!r}; "
                "name the GPU's hardware.yaml entry whose embodied carbon is charged, "
                "e.g. carbon.device: a100-80gb"
            )
        device = _host_cpu_entry(config, devices)  # the CPU that ran
    node = c.get("node") if c["scope"] == "node" else None  # a gpu-scope run ignores the node
    # raises on a bad combination of device, scope and node, or a source the device lacks
    charged = charged_sources(device, c["scope"], node, devices, c["embodied_sources"])
    scenarios = resolve_scenarios(c["scenarios"])
    if not scenarios:
        raise ConfigError("config key 'carbon.scenarios': is empty; list at least one scenario")
    credits = {
        "reference": _credit_reference(config),
        "scenario": _credit_scenario(c["credits"].get("scenario"), scenarios),
        "low_intensity_quantile": c["credits"]["low_intensity_quantile"],
    }
    return CarbonSettings(
        assumptions=asdict(assume),
        device=device,
        scope=c["scope"],
        node=node,
        embodied_sources=[h.source for h in charged[1:]],
        hardware=_needed_entries(device, node, devices),
        scenarios=[s.as_params() for s in scenarios],
        deadlines_h=list(c["deferral_deadlines_h"]),
        credits=credits,
    )
