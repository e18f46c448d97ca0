"""Carbon of each measured cell, per phase and per intensity scenario (the paper's Eq. 1).

carbon_g = energy_kwh x PUE x intensity_g_per_kwh + (t_gen_s / (t_life_s x utilisation)) x E_g
with E_g the charged hardware's embodied carbon times the job's share of it (1 for a GPU job,
threads / cores for a CPU job), once per embodied source (ACT's model, the headline, and each
published figure configured). Only `status == ok` cells get carbon; other cells keep a row
whose carbon columns are null, so failures stay visible.

Break-even: below intensity_g_per_kwh = embodied_g / (energy_kwh x PUE) a job's embodied carbon
exceeds its operational carbon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vidcarbon import defaults
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.carbon.intensity import Scenario
from vidcarbon.errors import ConfigError
from vidcarbon.tables import CELL_KEY_NAMES, COMPONENTS, PHASES, PhaseColumns

J_PER_KWH = 3.6e6
SECONDS_PER_YEAR = 365 * 24 * 3600  # ACT's 365-day years (5 y = 1.5768e8 s)
MEASURED_METHODS = ("counter", "integrated", "rapl")


@dataclass(frozen=True)
class Assumptions:
    """The operational and lifetime parameters of one carbon run."""

    pue: float = defaults.PUE
    lifetime_years: float = defaults.LIFETIME_YEARS
    utilisation: float = defaults.UTILISATION

    def __post_init__(self):
        for name in ("pue", "lifetime_years", "utilisation"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(
                    f"config key 'carbon.{name}': {value!r} is not allowed; it must be > 0"
                )
        if self.pue < 1:
            raise ConfigError(
                f"config key 'carbon.pue': {self.pue!r} is below 1; a PUE is total facility "
                f"energy over IT energy, so it is >= 1 (the paper uses {defaults.PUE:g})"
            )
        if self.utilisation > 1:
            raise ConfigError(
                f"config key 'carbon.utilisation': {self.utilisation!r} is above 1; give the "
                "fraction of the lifetime the device is busy, in (0, 1]"
            )

    @property
    def used_lifetime_s(self) -> float:
        """Busy seconds over which embodied carbon is spread: lifetime x utilisation."""
        return self.lifetime_years * SECONDS_PER_YEAR * self.utilisation


def operational_g(energy_j: float, intensity_g_per_kwh: float, pue: float) -> float:
    """Operational carbon of `energy_j` of IT energy (g CO2e)."""
    return energy_j / J_PER_KWH * pue * intensity_g_per_kwh


def embodied_share_g(duration_s: float, embodied_g: float, used_lifetime_s: float) -> float:
    """The share of `embodied_g` that `duration_s` of use is charged (g CO2e)."""
    return duration_s / used_lifetime_s * embodied_g


def breakeven_intensity_g_per_kwh(energy_j: float, embodied_g: float, pue: float) -> float:
    """The grid intensity at which `embodied_g` equals the operational carbon of `energy_j`;
    below it embodied carbon is the larger part (g CO2e per kWh)."""
    return embodied_g / (energy_j / J_PER_KWH * pue)


def _methods(run: dict[str, Any]) -> tuple[str, str]:
    measured = [c for c in COMPONENTS if run.get(f"{c}_method") in MEASURED_METHODS]
    estimated = [c for c in COMPONENTS if run.get(f"{c}_method") == "estimated"]
    return ",".join(measured), ",".join(estimated)


def _f(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN (pandas' null) -> None


def cell_carbon(
    run: dict[str, Any], scenario: Scenario, hardware: ChargedHardware, assume: Assumptions
) -> dict[str, Any]:
    """One carbon-table row: a cell under one scenario."""
    measured, estimated = _methods(run)
    share = hardware.share(run.get("threads"), int(run.get("gpus") or 1))
    # the text encoding is a job of its own on one device, whatever the cell's layout
    charged_g = {
        phase: hardware.embodied_g
        * (hardware.share(run.get("threads")) if phase == "encode" else share)
        for phase in PHASES
    }
    row: dict[str, Any] = {k: run[k] for k in CELL_KEY_NAMES}
    row.update(
        status=run["status"],
        device=run.get("device"),
        device_name=run.get("device_name"),
        height=run.get("height"),
        width=run.get("width"),
        video_duration_s=_f(run.get("video_duration_s")),
        threads=run.get("threads"),
        measured_components=measured,
        estimated_components=estimated,
        scenario=scenario.name,
        scenario_kind=scenario.kind,
        intensity_g_per_kwh=scenario.intensity_g_per_kwh,
        intensity_data_source=scenario.data_source,
        intensity_data_year=scenario.data_year,
        region=scenario.region,
        pue=assume.pue,
        lifetime_years=assume.lifetime_years,
        utilisation=assume.utilisation,
        embodied_device=hardware.device,
        embodied_source=hardware.source,
        embodied_default=hardware.source == defaults.EMBODIED_SOURCE,
        embodied_counts=hardware.counts,
        embodied_citation=hardware.citation,
        embodied_year=hardware.year,
        embodied_scope=hardware.scope,
        embodied_unit=hardware.unit,
        unit_embodied_g=hardware.embodied_g,
        embodied_share=share,
    )
    ok = run["status"] == "ok"
    totals = dict.fromkeys(("operational_g", "net_operational_g", "embodied_g"), 0.0)
    duration_total = energy_total = net_total = 0.0
    for phase in PHASES:
        names = PhaseColumns(phase)
        energy = _f(run.get(names.energy)) if ok else None
        net = _f(run.get(names.net_energy)) if ok else None
        duration = _f(run.get(names.duration)) if ok else None
        if ok and (energy is None or duration is None):
            raise ValueError(
                f"runs row {run['cell_id']!r} has status ok but no {phase} energy or duration; "
                "regenerate results/runs.parquet with `snakemake collect --forcerun collect`"
            )
        op = operational_g(energy, scenario.intensity_g_per_kwh, assume.pue) if ok else None
        net_op = (
            operational_g(net, scenario.intensity_g_per_kwh, assume.pue)
            if ok and net is not None
            else None
        )
        emb = embodied_share_g(duration, charged_g[phase], assume.used_lifetime_s) if ok else None
        row[f"{phase}_operational_g"] = op
        row[f"{phase}_net_operational_g"] = net_op
        row[f"{phase}_embodied_g"] = emb
        row[f"{phase}_carbon_g"] = op + emb if ok else None
        if ok:
            totals["operational_g"] += op
            totals["net_operational_g"] += net_op if net_op is not None else float("nan")
            totals["embodied_g"] += emb
            duration_total += duration
            energy_total += energy
            net_total += net if net is not None else float("nan")
    if not ok:
        row.update(
            generation_duration_s=None,
            energy_j=None,
            net_energy_j=None,
            operational_g=None,
            net_operational_g=None,
            embodied_g=None,
            total_g=None,
            net_total_g=None,
            embodied_fraction=None,
            breakeven_intensity_g_per_kwh=None,
        )
        return row
    total = totals["operational_g"] + totals["embodied_g"]
    net_op_total = _f(totals["net_operational_g"])
    row.update(
        generation_duration_s=duration_total,
        energy_j=energy_total,
        net_energy_j=_f(net_total),
        operational_g=totals["operational_g"],
        net_operational_g=net_op_total,
        embodied_g=totals["embodied_g"],
        total_g=total,
        net_total_g=None if net_op_total is None else net_op_total + totals["embodied_g"],
        embodied_fraction=totals["embodied_g"] / total if total > 0 else None,
        breakeven_intensity_g_per_kwh=(
            breakeven_intensity_g_per_kwh(energy_total, totals["embodied_g"], assume.pue)
            if energy_total > 0
            else None
        ),
    )
    return row


def carbon_rows(
    runs: list[dict[str, Any]],
    scenarios: list[Scenario],
    hardware: list[ChargedHardware],
    assume: Assumptions,
) -> list[dict[str, Any]]:
    """Rows of the carbon table: every cell x every scenario x every embodied source."""
    return [cell_carbon(r, s, h, assume) for h in hardware for s in scenarios for r in runs]
