"""RQ3: how text encoding, denoising and decoding share a video's energy as steps grow."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.render import no_data
from vidcarbon.tables import PHASES

TITLE = "Energy share of each phase as denoising steps grow"


def reference_shape(runs: pd.DataFrame) -> tuple[str, int] | None:
    """The (resolution, frames) with the most successful cells, preferring more steps values."""
    ok = runs[runs.status == "ok"]
    if ok.empty:
        return None
    counts = ok.groupby(["resolution", "frames"]).steps.nunique().sort_values(kind="stable")
    return counts.index[-1]


def phase_shares(runs: pd.DataFrame, resolution: str, frames: int) -> pd.DataFrame:
    """Mean energy per phase and its share of the three, per steps value, at one shape."""
    cells = runs[(runs.status == "ok") & (runs.resolution == resolution) & (runs.frames == frames)]
    columns = {f"{p}_energy_j": p for p in PHASES}
    mean = cells.groupby("steps")[list(columns)].mean().rename(columns=columns)
    long = mean.reset_index().melt("steps", var_name="phase", value_name="energy_j")
    long["share"] = long.energy_j / long.groupby("steps").energy_j.transform("sum")
    return long.dropna(subset=["energy_j"])


def phase_share_chart(runs: pd.DataFrame) -> alt.TopLevelMixin:
    shape = reference_shape(runs)
    if shape is None:
        return no_data(TITLE, "no successful cell")
    shares = phase_shares(runs, *shape)
    if shares.empty:
        return no_data(TITLE, "no phase energy measured")
    bars = (
        alt.Chart(shares)
        .mark_bar()
        .encode(
            x=alt.X("steps:O", title="denoising steps", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("share:Q", title="share of the video's energy", axis=alt.Axis(format="%")),
            color=alt.Color("phase:N", sort=list(PHASES), title="phase"),
            order=alt.Order("phase_order:Q"),
            tooltip=["steps", "phase", alt.Tooltip("share:Q", format=".1%"), "energy_j"],
        )
        .transform_calculate(phase_order="indexof(['encode', 'denoise', 'decode'], datum.phase)")
    )
    labels = (
        alt.Chart(shares[shares.phase == "denoise"])
        .mark_text(dy=-6, baseline="bottom")
        .encode(x="steps:O", y=alt.value(0), text=alt.Text("share:Q", format=".1%"))
    )
    resolution, frames = shape
    subtitle = [
        f"cells: {resolution}, {frames} frames (the shape with the most step values), mean "
        "over prompts",
        "label: denoising share",
    ]
    return (bars + labels).properties(
        title=alt.TitleParams(TITLE, subtitle=subtitle, anchor="start"),
        width=420,
        height=260,
    )
