"""Carbon-aware generation credits (paper §4): price a video by its predicted carbon.

A configuration's energy and generation time are predicted by the model's fitted laws
(`vidcarbon.laws`: energy and time of the whole video ~ steps^a x pixels^b x frames^f, fitted to
all its ok cells), the same laws `findings` and `vidcarbon estimate` use; its carbon follows
Eq. 1, and credits = reference_credits x carbon / the reference configuration's predicted
carbon. The low-intensity discount is the ratio of that carbon at the mean intensity of the
lowest-intensity hours of day (the lowest `low_intensity_quantile` of the 24) to the carbon at
the series mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vidcarbon.carbon.accounting import Assumptions
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.carbon.intensity import HourlySeries
from vidcarbon.carbon.timeshift import by_period
from vidcarbon.errors import ConfigError
from vidcarbon.laws import VARIABLES, CarbonRates, Interval, ModelLaws, fit_models

QUANTITIES = {"energy_j": "energy_j", "duration_s": "generation_duration_s"}
LAW = "power: y = c x steps^a x pixels^b x frames^f (joint, all ok cells)"


@dataclass(frozen=True)
class Reference:
    """The configuration priced at `credits` (e.g. 240p, 2 s, the model's default steps)."""

    resolution: str
    frames: int
    steps: int
    credits: float


def fit_rows(laws: dict[str, ModelLaws]) -> list[dict[str, Any]]:
    """Rows of the credit_fits table: per model and quantity (energy, generation time), the
    intercept and one exponent per grid variable, or why a variable has no law."""
    rows = []
    for model, law in laws.items():
        for quantity, name in QUANTITIES.items():
            base = {"model": model, "quantity": name, "law": LAW}
            try:
                fit = law.fit(quantity)
            except ConfigError as exc:
                rows.append({**base, "variable": "intercept", "note": f"not fitted: {exc}"})
                continue
            for variable in ("intercept", *VARIABLES):
                if variable in law.fixed:
                    note = f"not fitted: one value ({law.fixed[variable]:g}) in the runs"
                    rows.append({**base, "variable": variable, "note": note})
                    continue
                c = fit[variable]
                lo, hi = fit.x_range.get(variable, (None, None))
                rows.append(
                    {
                        **base,
                        "variable": variable,
                        "coefficient": "log c" if variable == "intercept" else "exponent",
                        "value": c.value,
                        "ci95_low": c.ci_low,
                        "ci95_high": c.ci_high,
                        "r2": fit.r2,
                        "n": fit.n,
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


def predict_video(
    law: ModelLaws, resolution: str, frames: int, steps: int
) -> tuple[Interval, Interval]:
    """Predicted energy (J) and generation time (s) of one video, with 95 % prediction
    intervals; ConfigError if the model has no ok cell at `resolution` (its pixel size is then
    unknown) or a law it needs was not fitted."""
    if resolution not in law.sizes:
        raise ConfigError(f"no ok cell at {resolution}; its pixel count is unknown")
    height, width = law.sizes[resolution]
    x = {"steps": steps, "pixels": height * width, "frames": frames}
    return law.predict("energy_j", **x), law.predict("duration_s", **x)


def credit_rows(
    runs: pd.DataFrame,
    configs: list[tuple[str, int, int]],
    ref: Reference,
    intensity_g_per_kwh: float,
    hardware: ChargedHardware,
    assume: Assumptions,
    series: HourlySeries | None = None,
    low_quantile: float = 0.25,
) -> tuple[list[dict[str, Any]], dict[str, ModelLaws]]:
    """Credit rows per (model, resolution, frames, steps) in `configs`, and the laws used."""
    laws = fit_models(runs)
    low = low_intensity_hours(series, low_quantile) if series is not None else None
    rows = []
    for model in sorted(runs.model.unique()):
        mine = runs[(runs.model == model) & (runs.status == "ok")]
        threads = mine.threads.dropna()
        embodied_g = hardware.embodied_g * hardware.share(
            int(threads.iloc[0]) if len(threads) else None
        )

        def rates(intensity: float, embodied_g=embodied_g) -> CarbonRates:
            return CarbonRates.of(intensity, assume.pue, embodied_g, assume.used_lifetime_s)

        law = laws.get(model)
        reference = None
        try:
            if law is None:
                raise ConfigError("no ok cell to fit laws on")
            reference = rates(intensity_g_per_kwh).carbon_g(
                *predict_video(law, ref.resolution, ref.frames, ref.steps)
            )
        except ConfigError as exc:
            reference_note = f"reference configuration: {exc}"
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
            ].energy_j.dropna()
            row["measured_energy_j"] = float(measured.mean()) if len(measured) else None
            if reference is None:
                rows.append({**row, "note": reference_note})
                continue
            try:
                energy, duration = predict_video(law, resolution, frames, steps)
            except ConfigError as exc:
                rows.append({**row, "note": str(exc)})
                continue
            carbon = rates(intensity_g_per_kwh).carbon_g(energy, duration)
            row.update(
                predicted_energy_j=energy.value,
                predicted_energy_low_j=energy.low,
                predicted_energy_high_j=energy.high,
                predicted_duration_s=duration.value,
                predicted_carbon_g=carbon.value,
                predicted_carbon_low_g=carbon.low,
                predicted_carbon_high_g=carbon.high,
                carbon_ratio=carbon.value / reference.value,
                credits=ref.credits * carbon.value / reference.value,
                note=None,
            )
            if row["measured_energy_j"]:
                row["prediction_error"] = energy.value / row["measured_energy_j"] - 1
            if low is not None:
                hours, low_mean, series_mean = low
                at_low = rates(low_mean).carbon_g(energy, duration).value
                factor = at_low / rates(series_mean).carbon_g(energy, duration).value
                row.update(
                    low_intensity_hours=",".join(map(str, hours)),
                    low_intensity_g_per_kwh=low_mean,
                    discount_factor=factor,
                    low_intensity_credits=row["credits"] * factor,
                )
            rows.append(row)
    return rows, laws
