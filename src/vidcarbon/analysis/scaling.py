"""RQ5: energy against resolution (power law, normalised to a reference) and duration (linear)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from vidcarbon.analysis.render import no_data
from vidcarbon.fits import Fit, fit_linear, fit_power_law

LOG = alt.Scale(type="log", nice=False)


def _fixed(runs: pd.DataFrame, vary: str) -> pd.DataFrame:
    """Successful cells at the most common value of every grid key except `vary`."""
    ok = runs[(runs.status == "ok") & runs.energy_j.notna()]
    for key in ("steps", "resolution", "frames"):
        if key != vary and not ok.empty:
            ok = ok[ok[key] == ok[key].mode().iloc[0]]
    return ok


def resolution_scaling(runs: pd.DataFrame, reference: str = "240p"):
    """Mean energy per resolution relative to `reference` (or the smallest), and the fitted
    power law energy ~ pixels^a (None with fewer than 3 cells or 2 resolutions)."""
    cells = _fixed(runs, "resolution").assign(pixels=lambda d: d.height * d.width)
    table = cells.groupby(["resolution", "pixels"], as_index=False).energy_j.mean()
    if table.empty:
        return table, None
    ref = (
        reference
        if reference in set(table.resolution)
        else table.sort_values("pixels").iloc[0].resolution
    )
    table["relative_energy"] = (
        table.energy_j / table.loc[table.resolution == ref, "energy_j"].iloc[0]
    )
    table["reference"] = ref
    fit = None
    if cells.resolution.nunique() >= 2 and len(cells) >= 3:
        fit = fit_power_law(cells.energy_j, pixels=cells.pixels)
    return table, fit


def duration_scaling(runs: pd.DataFrame):
    """Mean energy per video duration, and the linear fit energy = a + b x duration_s."""
    cells = _fixed(runs, "frames")
    table = cells.groupby("video_duration_s", as_index=False).energy_j.mean()
    fit = None
    if cells.video_duration_s.nunique() >= 2 and len(cells) >= 3:
        fit = fit_linear(cells.energy_j, video_duration_s=cells.video_duration_s)
    return table, fit


def _fit_line(fit: Fit, name: str, values: np.ndarray, scale: float = 1.0) -> pd.DataFrame:
    grid = np.linspace(values.min(), values.max(), 50)
    return pd.DataFrame({name: grid, "fit": [fit.predict(**{name: v}) / scale for v in grid]})


def resolution_chart(runs: pd.DataFrame, reference: str = "240p") -> alt.TopLevelMixin:
    title = "Energy per video against resolution"
    table, fit = resolution_scaling(runs, reference)
    if table.empty:
        return no_data(title, "no successful cell")
    ref = table.reference.iloc[0]
    points = (
        alt.Chart(table)
        .mark_circle(size=80)
        .encode(
            x=alt.X("pixels:Q", scale=LOG, title="pixels per frame"),
            y=alt.Y("relative_energy:Q", scale=LOG, title=f"energy / {ref}"),
            tooltip=["resolution", "energy_j", "relative_energy"],
        )
    )
    text = points.mark_text(dx=8, align="left").encode(text="resolution:N")
    if fit is None:
        return (points + text).properties(title=f"{title} (too few resolutions to fit)")
    ref_energy = table.loc[table.resolution == ref, "energy_j"].iloc[0]
    line = (
        alt.Chart(_fit_line(fit, "pixels", table.pixels.to_numpy(), ref_energy))
        .mark_line(strokeDash=[4, 3])
        .encode(x="pixels:Q", y="fit:Q")
    )
    a = fit["pixels"]
    return (points + text + line).properties(
        title=f"{title}: energy ~ pixels^{a.value:.2f} "
        f"(95% CI {a.ci_low:.2f}..{a.ci_high:.2f}, R² {fit.r2:.2f})",
        width=420,
        height=260,
    )


def duration_chart(runs: pd.DataFrame) -> alt.TopLevelMixin:
    title = "Energy per video against duration"
    table, fit = duration_scaling(runs)
    if table.empty:
        return no_data(title, "no successful cell")
    points = (
        alt.Chart(table)
        .mark_circle(size=80)
        .encode(
            x=alt.X("video_duration_s:Q", title="video duration (s)"),
            y=alt.Y("energy_j:Q", title="energy per video (J)"),
            tooltip=["video_duration_s", "energy_j"],
        )
    )
    if fit is None:
        return points.properties(title=f"{title} (too few durations to fit)")
    line = (
        alt.Chart(_fit_line(fit, "video_duration_s", table.video_duration_s.to_numpy()))
        .mark_line(strokeDash=[4, 3])
        .encode(x="video_duration_s:Q", y="fit:Q")
    )
    b = fit["video_duration_s"]
    return (points + line).properties(
        title=f"{title}: {b.value:.1f} J per second of video (R² {fit.r2:.2f})",
        width=420,
        height=260,
    )
