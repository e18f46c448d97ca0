"""Carbon-aware generation credits (paper §4): price a video by its predicted carbon.

Per model, three laws are fitted to the measured ok cells, each on the slice of the grid where
the other two variables sit at the reference configuration:
  steps  : y = a + b x steps          (fit_linear; rows at the reference resolution and frames)
  pixels : y = c x pixels^alpha       (fit_power_law; rows at the reference frames and steps)
  frames : y = c x frames^beta        (fit_power_law; rows at the reference resolution and steps)
for y = energy_j and y = generation_duration_s. A configuration's prediction is the measured
mean at the reference times the three laws' ratios (config over reference), its carbon follows
Eq. 1, and credits = reference_credits x carbon / reference carbon. The low-intensity discount
is the ratio of that carbon at the mean intensity of the lowest-intensity hours of day (the
lowest `low_intensity_quantile` of the 24) to the carbon at the series mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vidcarbon.carbon.accounting import Assumptions, embodied_share_g, operational_g
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.carbon.intensity import HourlySeries
from vidcarbon.carbon.timeshift import by_period
from vidcarbon.fits import Fit, fit_linear, fit_power_law

QUANTITIES = ("energy_j", "generation_duration_s")
LAWS = {"steps": "linear", "pixels": "power", "frames": "power"}


@dataclass(frozen=True)
class Reference:
    """The configuration priced at `credits` (e.g. 240p, 2 s, the model's default steps)."""

    resolution: str
    frames: int
    steps: int
    credits: float


@dataclass(frozen=True)
class Law:
    """One fitted law, or why it could not be fitted."""

    model: str
    quantity: str
    variable: str
    fit: Fit | None
    reason: str | None  # set when fit is None


def _slice(ok: pd.DataFrame, ref: Reference, variable: str) -> pd.DataFrame:
    at = {
        "steps": (ok.resolution == ref.resolution) & (ok.frames == ref.frames),
        "pixels": (ok.frames == ref.frames) & (ok.steps == ref.steps),
        "frames": (ok.resolution == ref.resolution) & (ok.steps == ref.steps),
    }[variable]
    return ok[at]


def fit_laws(ok: pd.DataFrame, model: str, ref: Reference) -> dict[tuple[str, str], Law]:
    """The three laws for both quantities of one model's ok rows."""
    laws = {}
    for quantity in QUANTITIES:
        for variable, kind in LAWS.items():
            rows = _slice(ok, ref, variable)
            x = rows[variable].to_numpy(dtype=float)
            y = rows[quantity].to_numpy(dtype=float)
            fit, reason = None, None
            if len(np.unique(x)) < 2:
                reason = f"{len(np.unique(x))} distinct {variable} value(s) at the reference"
            else:
                try:
                    fitter = fit_linear if kind == "linear" else fit_power_law
                    fit = fitter(y, **{variable: x})
                except ValueError as e:
                    reason = str(e)
            laws[(quantity, variable)] = Law(model, quantity, variable, fit, reason)
    return laws


def _ratio(law: Law, value: float, ref_value: float) -> float | None:
    if value == ref_value:
        return 1.0
    if law.fit is None:
        return None
    return law.fit.predict(**{law.variable: value}) / law.fit.predict(**{law.variable: ref_value})


def fit_rows(laws: list[Law]) -> list[dict[str, Any]]:
    """Rows of the credit_fits table: one per coefficient (or one per law not fitted)."""
    rows = []
    for law in laws:
        base = {
            "model": law.model,
            "quantity": law.quantity,
            "variable": law.variable,
            "law": LAWS[law.variable],
        }
        if law.fit is None:
            rows.append({**base, "note": f"not fitted: {law.reason}"})
            continue
        lo, hi = law.fit.x_range[law.variable]
        for c in law.fit.coefficients:
            rows.append(
                {
                    **base,
                    "coefficient": c.name,
                    "value": c.value,
                    "ci95_low": c.ci_low,
                    "ci95_high": c.ci_high,
                    "r2": law.fit.r2,
                    "n": law.fit.n,
                    "x_min": lo,
                    "x_max": hi,
                }
            )
    return rows


def low_intensity_hours(series: HourlySeries, quantile: float) -> tuple[list[int], float, float]:
    """The round(quantile x 24) hours of day with the lowest mean intensity (at least one);
    their mean intensity and the series mean (g CO2e/kWh). Ties go to the earlier hour."""
    hourly = [p for p in by_period(series) if p.kind == "hour_of_day"]
    count = max(1, round(quantile * len(hourly)))
    low = sorted(
        sorted(hourly, key=lambda p: p.intensity_g_per_kwh)[:count], key=lambda p: p.period
    )
    low_mean = float(
        np.average([p.intensity_g_per_kwh for p in low], weights=[p.hours for p in low])
    )
    return [p.period for p in low], low_mean, series.mean_g_per_kwh


def credit_rows(
    runs: pd.DataFrame,
    configs: list[tuple[str, int, int]],
    ref: Reference,
    intensity_g_per_kwh: float,
    hardware: ChargedHardware,
    assume: Assumptions,
    series: HourlySeries | None = None,
    low_quantile: float = 0.25,
) -> tuple[list[dict[str, Any]], list[Law]]:
    """Credit rows per (model, resolution, frames, steps) in `configs`, and the laws used."""
    ok = runs[runs.status == "ok"].copy()
    ok["pixels"] = ok.height.astype(float) * ok.width.astype(float)
    low = low_intensity_hours(series, low_quantile) if series is not None else None
    rows, all_laws = [], []
    for model in sorted(runs.model.unique()):
        mine = ok[ok.model == model]
        laws = fit_laws(mine, model, ref)
        all_laws.extend(laws.values())
        at_ref = mine[
            (mine.resolution == ref.resolution)
            & (mine.frames == ref.frames)
            & (mine.steps == ref.steps)
        ]
        pixels_of = mine.groupby("resolution").pixels.first().to_dict()
        threads = at_ref.threads.dropna()
        share = hardware.share(int(threads.iloc[0]) if len(threads) else None)

        def carbon(energy_j, duration_s, intensity, share=share):
            emb = embodied_share_g(duration_s, hardware.embodied_g * share, assume.used_lifetime_s)
            return operational_g(energy_j, intensity, assume.pue) + emb

        ref_pred = None
        if len(at_ref):
            ref_pred = {q: float(at_ref[q].mean()) for q in QUANTITIES}
        for resolution, frames, steps in configs:
            row: dict[str, Any] = {
                "model": model,
                "resolution": resolution,
                "frames": frames,
                "steps": steps,
                "reference": f"{ref.resolution} f{ref.frames} s{ref.steps}",
                "intensity_g_per_kwh": intensity_g_per_kwh,
            }
            measured = mine[
                (mine.resolution == resolution) & (mine.frames == frames) & (mine.steps == steps)
            ]
            row["measured_energy_j"] = float(measured.energy_j.mean()) if len(measured) else None
            notes = []
            pred = {}
            if ref_pred is None:
                notes.append("reference configuration not measured (no ok cell)")
            elif resolution not in pixels_of or ref.resolution not in pixels_of:
                notes.append(f"no ok cell at {resolution}; its pixel count is unknown")
            else:
                for q in QUANTITIES:
                    value = ref_pred[q]
                    for variable, x, x_ref in (
                        ("steps", steps, ref.steps),
                        ("pixels", pixels_of[resolution], pixels_of[ref.resolution]),
                        ("frames", frames, ref.frames),
                    ):
                        r = _ratio(laws[(q, variable)], x, x_ref)
                        if r is None:
                            notes.append(f"{q} {variable} law: {laws[(q, variable)].reason}")
                            value = None
                            break
                        value *= r
                    pred[q] = value
            if pred and all(v is not None for v in pred.values()):
                c = carbon(pred["energy_j"], pred["generation_duration_s"], intensity_g_per_kwh)
                c_ref = carbon(
                    ref_pred["energy_j"], ref_pred["generation_duration_s"], intensity_g_per_kwh
                )
                row.update(
                    predicted_energy_j=pred["energy_j"],
                    predicted_duration_s=pred["generation_duration_s"],
                    predicted_carbon_g=c,
                    carbon_ratio=c / c_ref,
                    credits=ref.credits * c / c_ref,
                )
                if row["measured_energy_j"]:
                    row["prediction_error"] = pred["energy_j"] / row["measured_energy_j"] - 1
                if low is not None:
                    hours, low_mean, series_mean = low
                    e, t = pred["energy_j"], pred["generation_duration_s"]
                    factor = carbon(e, t, low_mean) / carbon(e, t, series_mean)
                    row.update(
                        low_intensity_hours=",".join(map(str, hours)),
                        low_intensity_g_per_kwh=low_mean,
                        discount_factor=factor,
                        low_intensity_credits=row["credits"] * factor,
                    )
            row["note"] = "; ".join(dict.fromkeys(notes)) or None
            rows.append(row)
    return rows, all_laws
