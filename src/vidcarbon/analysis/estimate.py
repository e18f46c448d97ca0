"""Predict the energy and carbon of a configuration that was not measured, from the laws
fitted to the measured cells of a model, with a prediction interval."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vidcarbon.carbon.accounting import J_PER_KWH, SECONDS_PER_YEAR
from vidcarbon.carbon.intensity import Scenario, resolve_scenario
from vidcarbon.errors import ConfigError
from vidcarbon.fits import fit_power_law
from vidcarbon.grid import RESOLUTIONS, frames_for


@dataclass(frozen=True)
class Estimate:
    """Predictions as (low, predicted, high) at 95 %; carbon in g CO2e."""

    energy_j: tuple[float, float, float]
    duration_s: tuple[float, float, float]
    operational_g: tuple[float, float, float]
    embodied_g: tuple[float, float, float] | None
    scenario: Scenario
    extrapolated: dict[str, tuple[float, float, float]]  # variable: (asked, fitted min, max)
    r2: float
    n: int


def _variables(cells: pd.DataFrame) -> dict[str, pd.Series]:
    return {"steps": cells.steps, "pixels": cells.height * cells.width, "frames": cells.frames}


def intensity_scenario(intensity: str) -> Scenario:
    """An energy source name, a number in g/kWh, or an ISO 3166 alpha-3 country code."""
    try:
        spec = {"intensity_g_per_kwh": float(intensity)}
    except ValueError:
        spec = {"country": intensity} if intensity.isupper() else {"source": intensity}
    return resolve_scenario(spec, key="--intensity")


def estimate(
    runs: pd.DataFrame,
    model: str,
    resolution: str,
    duration_s: float,
    steps: int,
    intensity: str,
    fps: int = 8,
    pue: float = 1.2,
    embodied_g: float | None = None,
    lifetime_years: float = 5.0,
) -> Estimate:
    """Fit energy and time ~ steps^a pixels^b frames^c on `model`'s ok cells and predict."""
    if resolution not in RESOLUTIONS:
        raise ConfigError(
            f"--resolution {resolution!r} is not allowed; allowed: {', '.join(RESOLUTIONS)}"
        )
    cells = runs[(runs.model == model) & (runs.status == "ok") & runs.energy_j.notna()]
    if cells.empty:
        models = ", ".join(sorted(set(runs.model))) or "none"
        raise ConfigError(f"--model {model!r} has no successful cell; models measured: {models}")
    height, width = RESOLUTIONS[resolution]
    asked = {"steps": steps, "pixels": height * width, "frames": frames_for(duration_s, fps)}
    variables = _variables(cells)
    fixed = {k: v.iloc[0] for k, v in variables.items() if v.nunique() == 1}
    for name, value in fixed.items():
        if asked[name] != value:
            raise ConfigError(
                f"cannot estimate {name} = {asked[name]}: the runs of {model!r} hold a single "
                f"value ({value}), so no law for {name} can be fitted; measure at least two"
            )
    varying = {k: v for k, v in variables.items() if k not in fixed}
    x = {k: asked[k] for k in varying}
    if not varying:
        raise ConfigError(f"the runs of {model!r} vary nothing; measure a grid to fit laws")
    energy_fit = fit_power_law(cells.energy_j, **varying)
    time_fit = fit_power_law(cells.generation_duration_s, **varying)
    energy = energy_fit.predict_interval(**x)
    duration = time_fit.predict_interval(**x)
    scenario = intensity_scenario(intensity)
    per_j = pue * scenario.intensity_g_per_kwh / J_PER_KWH
    operational = tuple(e * per_j for e in energy)
    embodied = None
    if embodied_g is not None:
        per_s = embodied_g / (lifetime_years * SECONDS_PER_YEAR)
        embodied = tuple(d * per_s for d in duration)
    extrapolated = {
        name: (x[name], *energy_fit.x_range[name]) for name in energy_fit.extrapolates(**x)
    }
    return Estimate(
        energy, duration, operational, embodied, scenario, extrapolated, energy_fit.r2, energy_fit.n
    )
