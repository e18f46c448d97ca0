"""Embodied carbon of hardware from config/hardware.yaml: ACT's model (Gupta et al., ISCA'22),
the headline source, and the published figures an entry lists under `embodied_sources`.

ACT, computed from the entry's specs:
  die_g       = area_cm2 x CPA,  CPA = (fab_intensity x EPA + GPA + MPA) / yield   (g/cm^2)
  memory_g    = capacity_gb x CPS_dram / yield,  storage_g = capacity_gb x CPS_ssd / yield
  packaging_g = packaged ICs x 150 g
Coefficients: src/vidcarbon/data/act_coefficients.yaml. All masses in g CO2e.

A published figure is one number per unit of the entry (`embodied_kg`) with what it counts
(`counts`: gpu | board | server share for a gpu or cpu entry, server for a node entry), its
`scope` in words, `citation`, `where` in the source and `year`; one without any of them is
refused when the hardware file is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vidcarbon import defaults
from vidcarbon.carbon.intensity import act_tables
from vidcarbon.errors import ConfigError

SCOPES = ("gpu", "node")
ACT = defaults.EMBODIED_SOURCE
ACT_CITATION = (
    "Gupta et al., ACT: Designing Sustainable Computer Systems with an Architectural Carbon "
    "Modeling Tool, ISCA 2022 (github.com/facebookresearch/ACT); computed from the entry's dies, "
    "memory and packaged ICs"
)
ACT_YEAR = 2022
# what one published figure of a gpu or cpu entry covers: the package alone, its share of its
# board (baseboard, NVLink switches, power delivery...), or its share of its whole server; a
# node entry's figure is the whole server, accelerators included
COUNTS = ("gpu", "board", "server share")
NODE_COUNTS = ("server",)
SOURCE_FIELDS = ("counts", "embodied_kg", "scope", "citation", "where", "year")


def carbon_per_area_g_per_cm2(
    process_node: str, gpa_percentile: int | None = None, fab_location: str | None = None
) -> float:
    """ACT's CPA for a logic process node (g CO2e per cm^2 of good die)."""
    act = act_tables()
    logic = act["logic"]
    if process_node not in logic:
        raise ConfigError(
            f"process node {process_node!r} is not in ACT's logic tables; "
            f"allowed: {', '.join(logic)} (model a node by its nearest ACT node)"
        )
    row = logic[process_node]
    pct = gpa_percentile or act["gpa_percentile"]
    gpa = {
        95: row["gpa95_g_per_cm2"],
        99: row["gpa99_g_per_cm2"],
        97: (row["gpa95_g_per_cm2"] + row["gpa99_g_per_cm2"]) / 2,
    }[pct]
    fab_g_per_kwh = act["intensity_by_location_g_per_kwh"][fab_location or act["fab_location"]]
    return (fab_g_per_kwh * row["epa_kwh_per_cm2"] + gpa + row["mpa_g_per_cm2"]) / act["yield"]


def _per_gb(table: str, technology: str, where: str) -> float:
    act = act_tables()
    values = act[table]
    if technology not in values:
        raise ConfigError(
            f"{where}: ACT technology {technology!r} is not in {table}; "
            f"allowed: {', '.join(values)}"
        )
    return values[technology] / act["yield"]


@dataclass(frozen=True)
class Embodied:
    """Embodied carbon of one device or server, by part (g CO2e)."""

    name: str
    die_g: float = 0.0
    memory_g: float = 0.0
    storage_g: float = 0.0
    packaging_g: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def total_g(self) -> float:
        return self.die_g + self.memory_g + self.storage_g + self.packaging_g


def _need(spec: dict, name: str, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in spec]
    if missing:
        raise ConfigError(
            f"hardware entry {name!r}: missing {', '.join(missing)} needed for embodied carbon; "
            "add them to the hardware file (see config/hardware.yaml for examples)"
        )


def device_embodied(name: str, spec: dict[str, Any]) -> Embodied:
    """A GPU or CPU package: its dies, on-package/on-board memory and IC packaging."""
    _need(spec, name, ("dies", "packaged_ics"))
    die_g = 0.0
    parts: dict[str, float] = {}
    for i, die in enumerate(spec["dies"]):
        _need(die, f"{name}.dies[{i}]", ("area_mm2", "process_node"))
        count = die.get("count", 1)
        g = count * die["area_mm2"] / 100.0 * carbon_per_area_g_per_cm2(die["process_node"])
        parts[f"die:{die.get('name', i)}"] = g
        die_g += g
    memory_g = 0.0
    if spec.get("memory_gb"):
        _need(spec, name, ("memory_act",))
        memory_g = spec["memory_gb"] * _per_gb("dram_g_per_gb", spec["memory_act"], name)
        parts["memory"] = memory_g
    packaging_g = spec["packaged_ics"] * act_tables()["package_g_per_ic"]
    parts["packaging"] = packaging_g
    return Embodied(name, die_g=die_g, memory_g=memory_g, packaging_g=packaging_g, parts=parts)


def node_embodied(name: str, spec: dict[str, Any], devices: dict[str, dict]) -> Embodied:
    """A whole server: its accelerators, CPUs, DRAM and SSD."""
    _need(spec, name, ("cpu", "cpus", "dram_gb", "dram_act", "ssd_gb", "ssd_act"))
    die_g = memory_g = packaging_g = 0.0
    parts: dict[str, float] = {}
    members = [(spec["cpu"], spec["cpus"])]
    if spec.get("accelerators"):
        members.append((spec["accelerator"], spec["accelerators"]))
    for member, count in members:
        if member not in devices:
            raise ConfigError(f"hardware entry {name!r}: names device {member!r}, which is absent")
        e = device_embodied(member, devices[member])
        parts[f"{count}x {member}"] = count * e.total_g
        die_g += count * e.die_g
        memory_g += count * e.memory_g
        packaging_g += count * e.packaging_g
    dram_g = spec["dram_gb"] * _per_gb("dram_g_per_gb", spec["dram_act"], name)
    storage_g = spec["ssd_gb"] * _per_gb("ssd_g_per_gb", spec["ssd_act"], name)
    parts.update(dram=dram_g, ssd=storage_g)
    return Embodied(name, die_g, memory_g + dram_g, storage_g, packaging_g, parts)


@dataclass(frozen=True)
class PublishedSource:
    """One published embodied figure of a device (see the module docstring)."""

    name: str
    counts: str
    embodied_kg: float
    scope: str
    citation: str
    where: str
    year: int


def published_sources(device: str, spec: dict[str, Any]) -> dict[str, PublishedSource]:
    """The entry's `embodied_sources`, checked: a source lacking a field, or with a value out of
    range, is a ConfigError naming the device, the source and the field."""
    raw = spec.get("embodied_sources") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"hardware entry {device!r}: embodied_sources is a {type(raw).__name__}; give a "
            "mapping of source name to its fields (" + ", ".join(SOURCE_FIELDS) + ")"
        )
    sources = {}
    for name, fields in raw.items():
        where = f"hardware entry {device!r}, embodied source {name!r}"
        if name == ACT:
            raise ConfigError(f"{where}: the name {ACT!r} is ACT's model, computed; pick another")
        fields = fields if isinstance(fields, dict) else {}
        missing = [f for f in SOURCE_FIELDS if fields.get(f) in (None, "")]
        if missing:
            raise ConfigError(
                f"{where}: missing {', '.join(missing)}; a published figure needs all of "
                f"{', '.join(SOURCE_FIELDS)} (a figure without its citation or scope cannot be "
                "checked)"
            )
        unknown = sorted(set(fields) - set(SOURCE_FIELDS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown field {', '.join(unknown)}; allowed: {', '.join(SOURCE_FIELDS)}"
            )
        kind = spec.get("kind", "gpu")
        allowed = NODE_COUNTS if kind == "node" else COUNTS
        if fields["counts"] not in allowed:
            raise ConfigError(
                f"{where}: counts {fields['counts']!r}; allowed for a {kind} entry: "
                f"{', '.join(allowed)}"
            )
        kg = fields["embodied_kg"]
        if isinstance(kg, bool) or not isinstance(kg, (int, float)) or not kg > 0:
            raise ConfigError(f"{where}: embodied_kg {kg!r}; allowed: a number of kg > 0")
        if isinstance(fields["year"], bool) or not isinstance(fields["year"], int):
            raise ConfigError(f"{where}: year {fields['year']!r}; allowed: a year, e.g. 2023")
        sources[name] = PublishedSource(name=name, **{f: fields[f] for f in SOURCE_FIELDS})
    return sources


def check_sources(devices: dict[str, dict]) -> None:
    """Check every entry's published sources (raises ConfigError on the first bad one)."""
    for name, spec in devices.items():
        published_sources(name, spec)


@dataclass(frozen=True)
class ChargedHardware:
    """What one job is charged for: `embodied_g` of a unit, times `threads / cores` if per-core.

    A GPU job holds its whole GPU (gpu scope) or 1/accelerators of its server (node scope). A
    CPU job holds `threads` of the unit's `cores`, so it is charged that fraction.
    """

    device: str
    kind: str
    scope: str
    unit: str
    embodied_g: float
    cores: int | None
    breakdown: dict[str, float]
    source: str = ACT
    counts: str = "gpu"
    citation: str = ACT_CITATION
    year: int = ACT_YEAR

    def share(self, threads: int | None, devices: int = 1) -> float:
        """Units of `embodied_g` a job occupies: `devices` of them for a GPU (a cell on N
        GPUs holds N), else the share of the CPU its `threads` busy threads on each of its
        `devices` processes take."""
        if self.cores is None:
            return float(devices)
        used = (threads if threads and threads > 0 else 1) * devices
        return min(used, self.cores) / self.cores


def charged_hardware(
    device: str, scope: str, node: str | None, devices: dict[str, dict]
) -> ChargedHardware:
    """Resolve the configured device and scope against the hardware specs."""
    if scope not in SCOPES:
        raise ConfigError(f"config key 'carbon.scope': {scope!r}; allowed: {', '.join(SCOPES)}")
    if device not in devices:
        raise ConfigError(
            f"config key 'carbon.device': {device!r} is not in the hardware file; "
            f"allowed: {', '.join(k for k, v in devices.items() if v.get('kind') != 'node')}"
        )
    spec = devices[device]
    kind = spec.get("kind")
    if kind not in ("gpu", "cpu"):
        raise ConfigError(
            f"config key 'carbon.device': {device!r} is a {kind!r}; name a gpu or cpu entry "
            "(a server goes in carbon.node with carbon.scope: node)"
        )
    dev = device_embodied(device, spec)
    if scope == "gpu":  # the device alone; for a CPU run, that is its package
        if kind == "cpu":
            return ChargedHardware(
                device,
                kind,
                "cpu_package",
                device,
                dev.total_g,
                int(spec["cores"]),
                dev.parts,
                counts="cpu package",
            )
        return ChargedHardware(device, kind, scope, device, dev.total_g, None, dev.parts)
    if not node or node not in devices or devices[node].get("kind") != "node":
        nodes = ", ".join(k for k, v in devices.items() if v.get("kind") == "node")
        raise ConfigError(
            f"config key 'carbon.node': {node!r} is not a node entry of the hardware file; "
            f"carbon.scope 'node' needs one; allowed: {nodes}"
        )
    nspec = devices[node]
    whole = node_embodied(node, nspec, devices)
    if kind == "gpu":
        if nspec.get("accelerator") != device or not nspec.get("accelerators"):
            raise ConfigError(
                f"config key 'carbon.node': {node!r} holds {nspec.get('accelerator')!r}, not "
                f"{device!r}; pick a node whose accelerator is the charged device"
            )
        n = int(nspec["accelerators"])
        return ChargedHardware(
            device,
            kind,
            scope,
            f"{node} / {n} GPUs",
            whole.total_g / n,
            None,
            whole.parts,
            counts="server share",
        )
    if nspec.get("cpu") != device or nspec.get("accelerators"):
        raise ConfigError(
            f"config key 'carbon.node': {node!r} is not a CPU-only server of {device!r}; "
            "pick a node with `cpu: <this device>` and no accelerators"
        )
    cores = int(nspec["cpus"]) * int(spec["cores"])
    return ChargedHardware(
        device, kind, scope, node, whole.total_g, cores, whole.parts, counts="server"
    )


def _published_charge(act: ChargedHardware, source: PublishedSource, embodied_g: float, unit: str,
                      counts: str, cores: int | None) -> ChargedHardware:  # fmt: skip
    return ChargedHardware(
        act.device,
        act.kind,
        "published",
        unit,
        embodied_g,
        cores,
        {},
        source=source.name,
        counts=counts,
        citation=f"{source.citation}; {source.where}",
        year=source.year,
    )


def charged_sources(
    device: str, scope: str, node: str | None, devices: dict[str, dict], names: list[str] | None
) -> list[ChargedHardware]:
    """ACT's charge (first: the headline source), then one per published source in `names`
    (None: all there are): the device's, charged as published whatever the scope (a CPU's at
    threads / cores of its package, like ACT's), and at node scope the node's, a whole server
    shared like ACT's node charge (1 / accelerators of it, or threads / cores of a CPU server)."""
    act = charged_hardware(device, scope, node, devices)
    published = {
        name: (device, s) for name, s in published_sources(device, devices[device]).items()
    }
    if act.scope == "node":
        for name, s in published_sources(node, devices[node]).items():
            published.setdefault(name, (node, s))
    wanted = list(published) if names is None else [n for n in names if n != ACT]
    unknown = [n for n in wanted if n not in published]
    if unknown:
        where = f"{device!r}" + (f" or {node!r}" if act.scope == "node" else "")
        raise ConfigError(
            f"config key 'carbon.embodied_sources': {', '.join(map(repr, unknown))} is not a "
            f"source of {where}; allowed: {', '.join([ACT, *published])} (null: all)"
        )
    cores = int(devices[device]["cores"]) if act.kind == "cpu" else None
    charged = [act]
    for name in wanted:
        entry, s = published[name]
        if entry == device:
            unit = f"{device}: {s.counts} ({name})"
            charged.append(_published_charge(act, s, s.embodied_kg * 1000.0, unit, s.counts, cores))
        elif act.kind == "gpu":
            n = int(devices[node]["accelerators"])
            unit = f"{node} / {n} GPUs: server ({name})"
            charged.append(
                _published_charge(act, s, s.embodied_kg * 1000.0 / n, unit, "server share", None)
            )
        else:
            unit = f"{node}: server ({name})"
            charged.append(
                _published_charge(act, s, s.embodied_kg * 1000.0, unit, "server", act.cores)
            )
    return charged


def source_table(device: str, devices: dict[str, dict]) -> list[dict[str, Any]]:
    """Every embodied source of `device` at gpu scope (ACT's first) as plain data, for the
    rules that compare sources without charging a run; empty if the file lacks the device."""
    if device not in devices:
        return []
    return [
        {
            "device": h.device,
            "source": h.source,
            "counts": h.counts,
            "embodied_g": h.embodied_g,
            "citation": h.citation,
            "year": h.year,
        }
        for h in charged_sources(device, "gpu", None, devices, None)
    ]
