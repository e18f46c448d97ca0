"""Predict the energy, time and carbon of a configuration that was not measured, from the laws
fitted to the measured cells of a model (`vidcarbon.laws`), with 95 % prediction intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import pandas as pd

from vidcarbon import defaults
from vidcarbon.carbon.accounting import (
    SECONDS_PER_YEAR,
    breakeven_intensity_g_per_kwh,
    embodied_share_g,
)
from vidcarbon.carbon.intensity import Scenario, act_tables, resolve_scenario
from vidcarbon.errors import ConfigError
from vidcarbon.grid import BASELINE, RESOLUTIONS, parse_cell_id
from vidcarbon.laws import CarbonRates, Interval, fit_model, usable_cells


@dataclass(frozen=True)
class SourceEstimate:
    """Embodied carbon of the video under one embodied source, and the grid intensity below
    which it exceeds the operational carbon (from the predicted energy and time)."""

    source: str
    counts: str
    embodied_g: Interval
    breakeven_intensity_g_per_kwh: float


@dataclass(frozen=True)
class Estimate:
    """Predictions with their 95 % prediction intervals; carbon in g CO2e."""

    height: int
    width: int
    size_source: str  # where the pixel size comes from
    fps: int
    frames: int
    energy_j: Interval
    duration_s: Interval
    operational_g: Interval
    embodied_g: Interval | None
    by_source: list[SourceEstimate]  # every embodied source of the device, ACT's first
    scenario: Scenario
    extrapolated: dict[str, tuple[float, float, float]]  # variable: (asked, fitted min, max)
    r2: float
    n: int
    lever_ratio: float = 1.0  # lever / baseline energy, mean over the lever's measured cells
    lever_cells: int = 0  # lever cells the ratio rests on (0: no lever)


def intensity_scenario(intensity: str) -> Scenario:
    """An energy source name, a number in g/kWh, or an ISO 3166 alpha-3 country code."""
    try:
        spec = {"intensity_g_per_kwh": float(intensity)}
    except ValueError:
        spec = {"country": intensity} if intensity.isupper() else {"source": intensity}
    try:
        return resolve_scenario(spec, key="--intensity")
    except ConfigError as exc:
        if "source" not in spec:
            raise
        sources = ", ".join(act_tables()["intensity_by_source_g_per_kwh"])
        raise ConfigError(
            f"--intensity {intensity!r} is none of: an energy source ({sources}), a number of "
            "g CO2e/kWh (e.g. 250), or a country's ISO 3166 alpha-3 code in capitals (e.g. "
            "FRA, DEU, USA: the yearly grid mean from the shipped table)"
        ) from exc


def check_request(
    resolution: str, duration_s: float, steps: int, fps: int | None, pue: float
) -> None:
    """ConfigError naming the flag, the value and the allowed range for impossible input."""
    if resolution not in RESOLUTIONS:
        raise ConfigError(
            f"--resolution {resolution!r} is not allowed; allowed: {', '.join(RESOLUTIONS)}"
        )
    if not (isinstance(steps, Integral) and steps >= 1):
        raise ConfigError(f"--steps {steps!r} is not allowed; allowed: a whole number >= 1")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ConfigError(
            f"--duration {duration_s:g} is not allowed; allowed: seconds of video > 0"
        )
    if fps is not None and not (isinstance(fps, Integral) and fps >= 1):
        raise ConfigError(f"--fps {fps!r} is not allowed; allowed: a whole number >= 1")
    if not (math.isfinite(pue) and pue >= 1):
        raise ConfigError(
            f"--pue {pue:g} is not allowed; allowed: >= 1 (total facility energy over IT "
            f"energy; the paper uses {defaults.PUE:g})"
        )


def estimate(
    runs: pd.DataFrame,
    model: str,
    resolution: str,
    duration_s: float,
    steps: int,
    intensity: str,
    fps: int | None = None,
    pue: float = defaults.PUE,
    embodied_g: float | None = None,
    lifetime_years: float = defaults.LIFETIME_YEARS,
    lever: str = BASELINE,
    sources: list[dict] = (),
) -> Estimate:
    """Predict one video of `model` from the laws fitted on its ok baseline cells in `runs`;
    under `lever`, scaled by the lever's energy and time ratios to its baseline cells (mean
    over its ok cells: one law per model, one ratio per lever).

    The frame rate (unless `fps` is given) and the pixel size of a measured resolution are the
    model's own, read from its runs; an unmeasured resolution takes Open-Sora's size.
    `embodied_g`: the headline embodied carbon of the device; `sources`: its embodied sources
    (`carbon.embodied.source_table`), each estimated with its break-even intensity."""
    check_request(resolution, duration_s, steps, fps, pue)
    cells = usable_cells(runs)
    cells = cells[cells.model == model]
    if cells.empty:
        models = ", ".join(sorted(set(runs.model))) or "none"
        raise ConfigError(f"--model {model!r} has no successful cell; models measured: {models}")
    ratios, lever_cells = lever_ratios(cells, lever)
    cells = cells[(cells.lever == BASELINE) & (cells.gpus == 1)]
    law = fit_model(cells, model)
    fps = fps or law.fps
    frames = round(duration_s * fps)
    if frames < 1:
        raise ConfigError(
            f"--duration {duration_s:g} is {duration_s * fps:.2g} frames at {fps} fps; allowed: "
            f"> {0.5 / fps:g} s (at least one frame)"
        )
    if resolution in law.sizes:
        (height, width), size_source = law.sizes[resolution], "as measured"
    else:
        (height, width), size_source = RESOLUTIONS[resolution], "Open-Sora's; not measured"
    x = {"steps": steps, "pixels": height * width, "frames": frames}
    energy = law.predict("energy_j", **x).scaled(ratios["energy_j"])
    duration = law.predict("duration_s", **x).scaled(ratios["duration_s"])
    scenario = intensity_scenario(intensity)
    rates = CarbonRates.of(
        scenario.intensity_g_per_kwh, pue, embodied_g or 0.0, lifetime_years * SECONDS_PER_YEAR
    )
    fit = law.fit("energy_j")
    lifetime_s = lifetime_years * SECONDS_PER_YEAR
    by_source = []
    for src in sources:
        embodied = duration.scaled(embodied_share_g(1.0, src["embodied_g"], lifetime_s))
        even = breakeven_intensity_g_per_kwh(energy.value, embodied.value, pue)
        by_source.append(SourceEstimate(src["source"], src["counts"], embodied, even))
    return Estimate(
        height=height,
        width=width,
        size_source=size_source,
        fps=fps,
        frames=frames,
        energy_j=energy,
        duration_s=duration,
        operational_g=energy.scaled(rates.g_per_j),
        embodied_g=None if embodied_g is None else duration.scaled(rates.g_per_s),
        by_source=by_source,
        scenario=scenario,
        extrapolated=law.extrapolates(**x),
        r2=fit.r2,
        n=fit.n,
        lever_ratio=ratios["energy_j"],
        lever_cells=lever_cells,
    )


def lever_ratios(cells: pd.DataFrame, lever: str) -> tuple[dict[str, float], int]:
    """Mean ratio of `lever`'s energy and generation time to its baseline cells' (those ok
    in `cells`, one model's), and how many cells it rests on; 1 for the baseline."""
    if lever == BASELINE:
        return {"energy_j": 1.0, "duration_s": 1.0}, 0
    levered = cells[cells.lever == lever]
    baseline_ids = levered.cell_id.map(lambda c: parse_cell_id(c).baseline.cell_id)
    baseline = cells.set_index("cell_id").reindex(baseline_ids)
    paired = baseline.energy_j.notna().to_numpy()
    if not paired.any():
        levers = ", ".join(sorted(set(cells.lever) - {BASELINE})) or "none"
        raise ConfigError(
            f"--lever {lever!r} has no successful cell beside its baseline cell; levers "
            f"measured: {levers}"
        )
    ratio = {
        column: float(
            (levered[column].to_numpy()[paired] / baseline[column].to_numpy()[paired]).mean()
        )
        for column in ("energy_j", "generation_duration_s")
    }
    return {"energy_j": ratio["energy_j"], "duration_s": ratio["generation_duration_s"]}, int(
        paired.sum()
    )
