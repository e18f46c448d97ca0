"""The one scaling model of a video's cost: per video model and phase, energy and wall time as
power laws of the grid, fitted to the measured cells.

    y = c x steps^a x pixels^b x frames^f          (log-log least squares, `vidcarbon.fits`)

for y = the energy (J) and the wall time (s) of text encoding, denoising, decoding and the whole
video (`video`: encode + denoise + decode, fitted as measured, not summed from the phases). A
grid variable with one value in a model's runs is left out of its laws, and a prediction at
another value of it is refused. Carbon follows from a prediction of energy and time through the
paper's Eq. 1 (`carbon_g`).

`findings`, the RQ5 charts, the carbon-aware credits and `vidcarbon estimate` all ask this model,
so one question gets one number and one interval: coefficients come with their 95 % confidence
interval, predictions with the 95 % prediction interval of one new video.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from vidcarbon import tables
from vidcarbon.carbon.accounting import embodied_share_g, operational_g
from vidcarbon.errors import ConfigError
from vidcarbon.fits import Coefficient, Fit, fit_power_law

PHASES = (*tables.PHASES, "video")  # each phase, and the whole video
QUANTITIES = ("energy_j", "duration_s")
VARIABLES = ("steps", "pixels", "frames")
# Text encoding runs once per prompt and every cell of the prompt repeats its figures: a law in
# the grid variables would fit copies of one value (exponents 0 with a zero-width interval).
ENCODE_NOT_FITTED = (
    "not fitted: text encoding is measured once per prompt and shared by the prompt's cells, "
    "so it does not vary with steps, pixels or frames"
)


def column(quantity: str, phase: str) -> str:
    """The runs.parquet column of `quantity` ('energy_j' | 'duration_s') of `phase`."""
    if phase == "video":
        return "energy_j" if quantity == "energy_j" else "generation_duration_s"
    return f"{phase}_{quantity}"


def usable_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """The cells the laws and the findings rest on: status ok, with energy and a positive wall
    time (the one place to leave out cells whose figures cannot be trusted)."""
    ok = runs[(runs.status == "ok") & runs.energy_j.notna()]
    return ok[ok.generation_duration_s > 0]


@dataclass(frozen=True)
class Interval:
    """A figure with the two ends of its 95 % interval."""

    low: float
    value: float
    high: float

    def scaled(self, factor: float) -> Interval:
        return Interval(self.low * factor, self.value * factor, self.high * factor)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.low + other.low, self.value + other.value, self.high + other.high)


@dataclass(frozen=True)
class ModelLaws:
    """The fitted laws of one video model.

    `fits[(quantity, phase)]` is a `Fit` over the varying grid variables; `reasons` says why a
    law is missing; `fixed` maps each variable with one value in the runs to that value; `fps`
    and `sizes` (resolution -> (height, width) in pixels) are the model's own, read from the
    runs it was fitted on.
    """

    model: str
    fits: Mapping[tuple[str, str], Fit]
    reasons: Mapping[tuple[str, str], str]
    fixed: Mapping[str, float]
    fps: int
    sizes: Mapping[str, tuple[int, int]]
    n: int

    @property
    def varying(self) -> tuple[str, ...]:
        return tuple(v for v in VARIABLES if v not in self.fixed)

    def fit(self, quantity: str = "energy_j", phase: str = "video") -> Fit:
        """The law of `quantity` of `phase`; ConfigError saying why if there is none."""
        key = (quantity, phase)
        if key not in self.fits:
            reason = self.reasons[key]
            raise ConfigError(f"no law of {phase} {quantity} for {self.model!r}: {reason}")
        return self.fits[key]

    def exponent(
        self, variable: str, quantity: str = "energy_j", phase: str = "video"
    ) -> Coefficient | None:
        """The fitted exponent of `variable` with its 95 % CI (None: not fitted)."""
        fit = self.fits.get((quantity, phase))
        if fit is None or variable in self.fixed:
            return None
        return fit[variable]

    def _x(self, steps: float, pixels: float, frames: float) -> dict[str, float]:
        asked = {"steps": steps, "pixels": pixels, "frames": frames}
        for name, value in self.fixed.items():
            if asked[name] != value:
                raise ConfigError(
                    f"cannot predict {name} = {asked[name]:g} for {self.model!r}: its runs hold "
                    f"a single value ({value:g}), so no law of {name} can be fitted; "
                    "measure at least two"
                )
        return {name: asked[name] for name in self.varying}

    def predict(
        self,
        quantity: str = "energy_j",
        phase: str = "video",
        *,
        steps: float,
        pixels: float,
        frames: float,
    ) -> Interval:
        """`quantity` of `phase` of one new video, with its 95 % prediction interval."""
        fit = self.fit(quantity, phase)
        return Interval(*fit.predict_interval(**self._x(steps, pixels, frames)))

    def extrapolates(self, steps: float, pixels: float, frames: float) -> dict:
        """variable -> (asked, fitted min, fitted max) for each value outside the fitted range."""
        x = self._x(steps, pixels, frames)
        fit = self.fit()
        return {name: (x[name], *fit.x_range[name]) for name in fit.extrapolates(**x)}

    def ratio(self, variable: str, start: float, end: float) -> Interval | None:
        """Whole-video energy at `end` over energy at `start` of `variable`, all else equal:
        (end / start)^exponent, with the exponent's 95 % CI (None: not fitted)."""
        c = self.exponent(variable)
        if c is None:
            return None
        base = end / start
        ends = sorted((base**c.ci_low, base**c.ci_high))
        return Interval(ends[0], base**c.value, ends[1])


def fit_model(cells: pd.DataFrame, model: str) -> ModelLaws:
    """The laws of one model's usable cells (`usable_cells`)."""
    if cells.empty:
        raise ConfigError(f"{model!r} has no successful cell to fit laws on")
    variables = {
        "steps": cells.steps.astype(float),
        "pixels": (cells.height * cells.width).astype(float),
        "frames": cells.frames.astype(float),
    }
    fixed = {k: float(v.iloc[0]) for k, v in variables.items() if v.nunique() == 1}
    varying = {k: v for k, v in variables.items() if k not in fixed}
    fits, reasons = {}, {}
    for quantity in QUANTITIES:
        for phase in PHASES:
            key = (quantity, phase)
            if phase == "encode":
                reasons[key] = ENCODE_NOT_FITTED
                continue
            if column(quantity, phase) not in cells:
                reasons[key] = f"no {column(quantity, phase)} column"
                continue
            y = cells[column(quantity, phase)].astype(float)
            if y.isna().any() or (y <= 0).any():
                reasons[key] = f"{column(quantity, phase)} is missing or not positive in a cell"
                continue
            try:
                fits[key] = fit_power_law(y, **varying)
            except ValueError as exc:
                reasons[key] = str(exc)
    fps = sorted(set(cells.fps.dropna().astype(int)))
    if len(fps) != 1:
        raise ConfigError(f"the runs of {model!r} mix frame rates {fps}; fit one at a time")
    sizes = {
        r: (int(g.height.iloc[0]), int(g.width.iloc[0])) for r, g in cells.groupby("resolution")
    }
    return ModelLaws(model, fits, reasons, fixed, fps[0], sizes, len(cells))


def fit_models(runs: pd.DataFrame) -> dict[str, ModelLaws]:
    """The laws of every model with at least one usable cell."""
    cells = usable_cells(runs)
    return {model: fit_model(group, model) for model, group in cells.groupby("model")}


@dataclass(frozen=True)
class CarbonRates:
    """The paper's Eq. 1 as two rates: operational carbon per joule of IT energy
    (PUE x intensity) and embodied carbon per second of use (the charged embodied carbon over
    the busy lifetime), both in g CO2e."""

    g_per_j: float
    g_per_s: float

    @classmethod
    def of(
        cls, intensity_g_per_kwh: float, pue: float, embodied_g: float, used_lifetime_s: float
    ) -> CarbonRates:
        return cls(
            operational_g(1.0, intensity_g_per_kwh, pue),
            embodied_share_g(1.0, embodied_g, used_lifetime_s),
        )

    def carbon_g(self, energy_j: Interval, duration_s: Interval) -> Interval:
        """Carbon of a predicted video. The interval adds the ends of the operational and the
        embodied part: energy and time of one video err together (energy is power x time)."""
        return energy_j.scaled(self.g_per_j) + duration_s.scaled(self.g_per_s)
