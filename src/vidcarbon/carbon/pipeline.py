"""The carbon rule's work: read runs.parquet, write the carbon, time, deferral and credit tables."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vidcarbon.carbon.accounting import Assumptions, carbon_rows, operational_g
from vidcarbon.carbon.credits import Reference, credit_rows, fit_rows
from vidcarbon.carbon.embodied import charged_sources
from vidcarbon.carbon.intensity import HourlySeries, Scenario, read_hourly_csv
from vidcarbon.carbon.timeshift import by_period, defer
from vidcarbon.grid import BASELINE
from vidcarbon.levers import baseline_rows
from vidcarbon.tables import provenance, read_table, write_table

log = logging.getLogger(__name__)


def _time_rows(scenario: Scenario, series: HourlySeries, ok: list[dict], assume: Assumptions):
    periods = by_period(series)
    rows = []
    for r in ok:
        for p in periods:
            op = operational_g(r["energy_j"], p.intensity_g_per_kwh, assume.pue)
            rows.append(
                {
                    "scenario": scenario.name,
                    "cell_id": r["cell_id"],
                    "period_kind": p.kind,
                    "period": p.period,
                    "hours": p.hours,
                    "intensity_g_per_kwh": p.intensity_g_per_kwh,
                    "operational_g": op,
                    "embodied_g": r["embodied_g"],
                    "total_g": op + r["embodied_g"],
                }
            )
    return rows


def _deferral_rows(
    scenario: Scenario, series: HourlySeries, ok: list[dict], deadlines_h, assume: Assumptions
):
    rows = []
    for r in ok:
        for deadline in deadlines_h:
            d = defer(series, r["generation_duration_s"], deadline)
            now = operational_g(r["energy_j"], d.immediate_intensity_g_per_kwh, assume.pue)
            later = operational_g(r["energy_j"], d.deferred_intensity_g_per_kwh, assume.pue)
            immediate, deferred = now + r["embodied_g"], later + r["embodied_g"]
            rows.append(
                {
                    "scenario": scenario.name,
                    "cell_id": r["cell_id"],
                    "generation_duration_s": r["generation_duration_s"],
                    "deadline_h": deadline,
                    "submissions": d.submissions,
                    "mean_delay_h": d.mean_delay_h,
                    "immediate_intensity_g_per_kwh": d.immediate_intensity_g_per_kwh,
                    "deferred_intensity_g_per_kwh": d.deferred_intensity_g_per_kwh,
                    "immediate_total_g": immediate,
                    "deferred_total_g": deferred,
                    "saving_g": immediate - deferred,
                    "saving_fraction": 1 - deferred / immediate,
                }
            )
    return rows


def run_carbon(
    runs_path: str | Path,
    outputs: dict[str, str | Path],
    settings: dict[str, Any],
    config_hash: str,
) -> None:
    """Compute every carbon output from the runs table and the resolved `carbon` settings.

    `outputs` maps table name (carbon, carbon_by_time, deferral, credits, credit_fits) to path.
    """
    runs = read_table("runs", runs_path).to_pandas()
    assume = Assumptions(**settings["assumptions"])
    charged = charged_sources(
        settings["device"],
        settings["scope"],
        settings["node"],
        settings["hardware"],
        settings["embodied_sources"],
    )
    hardware = charged[0]  # ACT's model: the headline, and what times and credits are charged
    scenarios = [Scenario(**s) for s in settings["scenarios"]]
    series = {
        s.name: read_hourly_csv(s.series_path, region=s.region) for s in scenarios if s.series_path
    }
    records = runs.astype(object).where(runs.notna(), None).to_dict("records")
    log.info(
        "%d cells (%d ok) x %d scenarios x %d embodied sources; %s %s scope; %s",
        len(runs),
        int((runs.status == "ok").sum()),
        len(scenarios),
        len(charged),
        hardware.device,
        hardware.scope,
        ", ".join(f"{h.source} {h.embodied_g:.0f} g per unit" for h in charged),
    )
    carbon = carbon_rows(records, scenarios, charged, assume)
    by_time, deferral = [], []
    for s in scenarios:
        if s.name not in series:
            continue
        ok = [
            r
            for r in carbon
            if r["scenario"] == s.name
            and r["status"] == "ok"
            and r["embodied_default"]
            and r["lever"] == BASELINE
            and r["gpus"] == 1
        ]
        by_time += _time_rows(s, series[s.name], ok, assume)
        deferral += _deferral_rows(s, series[s.name], ok, settings["deadlines_h"], assume)

    credit = settings["credits"]
    chosen = next(s for s in scenarios if s.name == credit["scenario"])
    ref = Reference(**credit["reference"])
    grid = (
        baseline_rows(runs)[["resolution", "frames", "steps"]]
        .drop_duplicates()
        .sort_values(["resolution", "frames", "steps"])
    )
    configs = [(r.resolution, int(r.frames), int(r.steps)) for r in grid.itertuples()]
    credits, laws = credit_rows(
        baseline_rows(runs),
        configs,
        ref,
        chosen.intensity_g_per_kwh,
        hardware,
        assume,
        series=series.get(chosen.name),
        low_quantile=credit["low_intensity_quantile"],
    )

    meta = provenance(
        config_hash,
        hostnames=[h for h in runs.hostname.dropna().unique()],
        devices=[hardware.device, *runs.device_name.dropna().unique()],
    )
    tables = {
        "carbon": carbon,
        "carbon_by_time": by_time,
        "deferral": deferral,
        "credits": credits,
        "credit_fits": fit_rows(laws),
    }
    for name, rows in tables.items():
        write_table(name, rows, outputs[name], meta)
        log.info("wrote %s (%d rows) to %s", name, len(rows), outputs[name])
