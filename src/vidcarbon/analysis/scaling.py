"""RQ5: a video's energy or carbon against resolution (power law, normalised to a reference)
and against duration (linear)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from vidcarbon.analysis.render import no_data
from vidcarbon.fits import Fit, fit_linear, fit_power_law

LOG = alt.Scale(type="log", nice=False)
QUANTITIES = {"energy_j": ("energy", "J"), "total_g": ("carbon", "g CO2e")}


def _fixed(table: pd.DataFrame, vary: str, value: str) -> pd.DataFrame:
    """Successful cells at the most common value of every grid key except `vary`."""
    ok = table[(table.status == "ok") & table[value].notna()]
    for key in ("steps", "resolution", "frames"):
        if key != vary and not ok.empty:
            ok = ok[ok[key] == ok[key].mode().iloc[0]]
    return ok


def resolution_scaling(table: pd.DataFrame, reference: str = "240p", value: str = "energy_j"):
    """Mean `value` per resolution relative to `reference` (or the smallest), and the fitted
    power law value ~ pixels^a (None with fewer than 3 cells or 2 resolutions)."""
    cells = _fixed(table, "resolution", value).assign(pixels=lambda d: d.height * d.width)
    means = cells.groupby(["resolution", "pixels"], as_index=False)[value].mean()
    if means.empty:
        return means, None
    if reference in set(means.resolution):
        ref = reference
    else:
        ref = means.sort_values("pixels").resolution.iloc[0]
    means["relative"] = means[value] / means.loc[means.resolution == ref, value].iloc[0]
    means["reference"] = ref
    fit = None
    if cells.resolution.nunique() >= 2 and len(cells) >= 3:
        fit = fit_power_law(cells[value], pixels=cells.pixels)
    return means, fit


def duration_scaling(table: pd.DataFrame, value: str = "energy_j"):
    """Mean `value` per video duration, and the linear fit value = a + b x duration_s."""
    cells = _fixed(table, "frames", value)
    means = cells.groupby("video_duration_s", as_index=False)[value].mean()
    fit = None
    if cells.video_duration_s.nunique() >= 2 and len(cells) >= 3:
        fit = fit_linear(cells[value], video_duration_s=cells.video_duration_s)
    return means, fit


def _fit_line(fit: Fit, name: str, values: np.ndarray, scale: float = 1.0) -> pd.DataFrame:
    grid = np.linspace(values.min(), values.max(), 50)
    return pd.DataFrame({name: grid, "fit": [fit.predict(**{name: v}) / scale for v in grid]})


def resolution_chart(
    table: pd.DataFrame, reference: str = "240p", value: str = "energy_j", note: str = ""
) -> alt.TopLevelMixin:
    what, _ = QUANTITIES[value]
    title = f"{what.capitalize()} per video against resolution{note}"
    means, fit = resolution_scaling(table, reference, value)
    if means.empty:
        return no_data(title, "no successful cell")
    ref = means.reference.iloc[0]
    points = (
        alt.Chart(means)
        .mark_circle(size=80)
        .encode(
            x=alt.X("pixels:Q", scale=LOG, title="pixels per frame"),
            y=alt.Y("relative:Q", scale=LOG, title=f"{what} / {what} at {ref}"),
            tooltip=["resolution", value, "relative"],
        )
    )
    labels = points.mark_text(dx=8, align="left").encode(text="resolution:N")
    if fit is None:
        return (points + labels).properties(title=f"{title} (too few resolutions to fit)")
    ref_value = means.loc[means.resolution == ref, value].iloc[0]
    line = (
        alt.Chart(_fit_line(fit, "pixels", means.pixels.to_numpy(), ref_value))
        .mark_line(strokeDash=[4, 3])
        .encode(x="pixels:Q", y="fit:Q")
    )
    a = fit["pixels"]
    return (points + labels + line).properties(
        title=f"{title}: {what} ~ pixels^{a.value:.2f} "
        f"(95% CI {a.ci_low:.2f}..{a.ci_high:.2f}, R² {fit.r2:.2f})",
        width=420,
        height=260,
    )


def duration_chart(
    table: pd.DataFrame, value: str = "energy_j", note: str = ""
) -> alt.TopLevelMixin:
    what, unit = QUANTITIES[value]
    title = f"{what.capitalize()} per video against duration{note}"
    means, fit = duration_scaling(table, value)
    if means.empty:
        return no_data(title, "no successful cell")
    points = (
        alt.Chart(means)
        .mark_circle(size=80)
        .encode(
            x=alt.X("video_duration_s:Q", title="video duration (s)"),
            y=alt.Y(f"{value}:Q", title=f"{what} per video ({unit})"),
            tooltip=["video_duration_s", value],
        )
    )
    if fit is None:
        return points.properties(title=f"{title} (too few durations to fit)")
    line = (
        alt.Chart(_fit_line(fit, "video_duration_s", means.video_duration_s.to_numpy()))
        .mark_line(strokeDash=[4, 3])
        .encode(x="video_duration_s:Q", y="fit:Q")
    )
    b = fit["video_duration_s"]
    return (points + line).properties(
        title=f"{title}: {b.value:.3g} {unit} per second of video (R² {fit.r2:.2f})",
        width=420,
        height=260,
    )
