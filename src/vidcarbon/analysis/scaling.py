"""RQ5: a video's carbon against resolution and against duration: the measured cells at fixed
steps and frames (or resolution), and the one fitted law of `vidcarbon.laws` through them,
with its 95 % prediction interval. The exponents in the subtitles are those of findings.md."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from vidcarbon.analysis.render import no_data
from vidcarbon.carbon.accounting import SECONDS_PER_YEAR
from vidcarbon.errors import ConfigError
from vidcarbon.laws import CarbonRates, Interval, ModelLaws, fit_models

LOG = alt.Scale(type="log", nice=False, padding=16)
LINEAR = alt.Scale(zero=False, nice=True, padding=16)
WIDTH, HEIGHT = 440, 260


def held_values(law: ModelLaws, cells: pd.DataFrame, reference: str) -> dict:
    """Where the charts hold the other variables: the most steps measured (the paper's
    figures use Open-Sora's default 100, its most), 2 s of video if measured (the paper's
    short videos) else the fewest frames, and the reference resolution if measured else
    the smallest."""
    two_s = 2 * law.fps
    frames = two_s if two_s in set(cells.frames) else int(cells.frames.min())
    if reference in law.sizes:
        resolution = reference
    else:
        resolution = min(law.sizes, key=lambda r: law.sizes[r][0] * law.sizes[r][1])
    return {"steps": int(cells.steps.max()), "frames": frames, "resolution": resolution}


def carbon_rates(rows: pd.DataFrame) -> CarbonRates:
    """The scenario's Eq. 1 rates, read back from carbon.parquet rows of one model."""
    r = rows.iloc[0]
    used_lifetime_s = r.lifetime_years * SECONDS_PER_YEAR * r.utilisation
    return CarbonRates.of(
        r.intensity_g_per_kwh, r.pue, r.unit_embodied_g * r.embodied_share, used_lifetime_s
    )


def predicted_carbon(law: ModelLaws, rates: CarbonRates, **x) -> Interval:
    """Carbon of one video at x = steps, pixels, frames: Eq. 1 of the predicted energy and time."""
    return rates.carbon_g(law.predict("energy_j", **x), law.predict("duration_s", **x))


def _law_words(law: ModelLaws, variable: str) -> str:
    c = law.exponent(variable)
    fit = law.fit()
    return (
        f"energy ~ {variable}^{c.value:.2f} (95 % CI {c.ci_low:.2f} .. "
        f"{c.ci_high:.2f}), the law of findings.md, fitted on all {fit.n} cells (R² {fit.r2:.3f})"
    )


def _panels(runs, carbon, scenario, panel, title):
    carbon = carbon[(carbon.scenario == scenario) & (carbon.status == "ok")].dropna(
        subset=["total_g"]
    )
    try:
        laws = fit_models(runs)
    except ConfigError as exc:
        return no_data(title, str(exc))
    charts = [
        panel(law, carbon[carbon.model == model])
        for model, law in laws.items()
        if (carbon.model == model).any()
    ]
    if not charts:
        return no_data(title, f"no successful cell with carbon at scenario {scenario!r}")
    return alt.vconcat(*charts).properties(title=title)


def resolution_chart(
    runs: pd.DataFrame, carbon: pd.DataFrame, scenario: str, reference: str = "240p"
) -> alt.TopLevelMixin:
    """Carbon per video relative to the reference resolution, against pixels per frame (log-log),
    at the most steps and 2 s of video: cells, the law and its prediction interval."""
    title = f"Carbon per video against resolution ({scenario}), relative to {reference}"

    def panel(law: ModelLaws, rows: pd.DataFrame) -> alt.TopLevelMixin:
        held = held_values(law, rows, reference)
        shown = rows[(rows.steps == held["steps"]) & (rows.frames == held["frames"])]
        shown = shown.assign(pixels=shown.height * shown.width)
        what = (
            f"cells shown: {held['steps']} steps, {held['frames']} frames "
            f"({held['frames'] / law.fps:g} s at {law.fps} fps), one dot per prompt and seed"
        )
        if law.exponent("pixels") is None:
            why = "one resolution measured" if "pixels" in law.fixed else "too few cells"
            return no_data(f"{law.model}", f"{why}: no law of pixels; {what}")
        rates = carbon_rates(rows)
        ref_pixels = float(np.prod(law.sizes[held["resolution"]]))
        at = {"steps": held["steps"], "frames": held["frames"]}
        ref = predicted_carbon(law, rates, pixels=ref_pixels, **at).value
        lo, hi = law.fit().x_range["pixels"]
        grid = np.geomspace(lo, hi, 40)
        line = pd.DataFrame(
            [
                {"pixels": p, **vars(predicted_carbon(law, rates, pixels=p, **at).scaled(1 / ref))}
                for p in grid
            ]
        )
        shown = shown.assign(relative=shown.total_g / ref)
        labels = shown.groupby("resolution", as_index=False)[["pixels", "relative"]].max()
        x = alt.X("pixels:Q", scale=LOG, title="pixels per frame (height x width; log scale)")
        y_title = f"carbon / the law's carbon at {held['resolution']} (log scale)"
        band = (
            alt.Chart(line)
            .mark_area(opacity=0.2)
            .encode(x=x, y=alt.Y("low:Q", scale=LOG, title=y_title), y2="high:Q")
        )
        fitted = alt.Chart(line).mark_line(strokeDash=[4, 3]).encode(x=x, y="value:Q")
        dots = (
            alt.Chart(shown)
            .mark_circle(size=60, opacity=0.8)
            .encode(
                x=x,
                y="relative:Q",
                tooltip=["resolution", "prompt_id", "total_g", "relative"],
            )
        )
        text = (
            alt.Chart(labels)
            .mark_text(dx=0, dy=-10, baseline="bottom")
            .encode(x=x, y="relative:Q", text="resolution:N")
        )
        subtitle = [
            _law_words(law, "pixels"),
            what,
            "line: the law; band: its 95 % prediction interval",
        ]
        return (band + fitted + dots + text).properties(
            title=alt.TitleParams(law.model, subtitle=subtitle, anchor="start"),
            width=WIDTH,
            height=HEIGHT,
        )

    return _panels(runs, carbon, scenario, panel, title)


def duration_chart(
    runs: pd.DataFrame, carbon: pd.DataFrame, scenario: str, reference: str = "240p"
):
    """Carbon per video against video duration, at the most steps and the reference resolution:
    cells, the law and its prediction interval."""
    title = f"Carbon per video against duration ({scenario})"

    def panel(law: ModelLaws, rows: pd.DataFrame) -> alt.TopLevelMixin:
        held = held_values(law, rows, reference)
        shown = rows[(rows.steps == held["steps"]) & (rows.resolution == held["resolution"])]
        height, width = law.sizes[held["resolution"]]
        what = (
            f"cells shown: {held['steps']} steps, {held['resolution']} ({height}x{width}), "
            "one dot per prompt and seed"
        )
        if law.exponent("frames") is None:
            why = "one duration measured" if "frames" in law.fixed else "too few cells"
            return no_data(f"{law.model}", f"{why}: no law of frames; {what}")
        rates = carbon_rates(rows)
        at = {"steps": held["steps"], "pixels": height * width}
        lo, hi = law.fit().x_range["frames"]
        grid = np.linspace(lo, hi, 40)
        line = pd.DataFrame(
            [
                {"duration_s": f / law.fps, **vars(predicted_carbon(law, rates, frames=f, **at))}
                for f in grid
            ]
        )
        x = alt.X("duration_s:Q", scale=LINEAR, title="video duration (s)")
        band = (
            alt.Chart(line)
            .mark_area(opacity=0.2)
            .encode(
                x=x,
                y=alt.Y("low:Q", scale=LINEAR, title="carbon per video (g CO2e)"),
                y2="high:Q",
            )
        )
        fitted = alt.Chart(line).mark_line(strokeDash=[4, 3]).encode(x=x, y="value:Q")
        dots = (
            alt.Chart(shown.assign(duration_s=shown.frames / law.fps))
            .mark_circle(size=60, opacity=0.8)
            .encode(x=x, y="total_g:Q", tooltip=["frames", "prompt_id", "total_g"])
        )
        subtitle = [
            _law_words(law, "frames"),
            what,
            "line: the law; band: its 95 % prediction interval",
        ]
        return (band + fitted + dots).properties(
            title=alt.TitleParams(law.model, subtitle=subtitle, anchor="start"),
            width=WIDTH,
            height=HEIGHT,
        )

    return _panels(runs, carbon, scenario, panel, title)
