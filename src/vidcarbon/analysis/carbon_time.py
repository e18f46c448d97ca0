"""Carbon-aware operation: credits per configuration, and how the hour, the month and
deferral to low-carbon hours change one job's carbon (the paper's §4 proposals)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.render import no_data
from vidcarbon.grid import RESOLUTIONS


def credits_chart(credits: pd.DataFrame) -> alt.TopLevelMixin:
    """Credits per (resolution, duration, steps), at mean and at low intensity."""
    title = "Carbon-aware generation credits"
    rows = credits.dropna(subset=["credits"])
    if rows.empty:
        return no_data(title, "no credits (the laws could not be fitted)")
    # credits = reference credits x carbon_ratio, so any row gives the reference's credits
    reference_credits = float((rows.credits / rows.carbon_ratio).iloc[0])
    rows = rows.assign(
        configuration=rows.resolution + ", " + rows.frames.astype(str) + " frames",
        reference=rows.reference.iloc[0],
    )
    long = rows.melt(
        ["configuration", "steps", "model"],
        ["credits", "low_intensity_credits"],
        var_name="period",
        value_name="credit",
    )
    long["period"] = long.period.map(
        {"credits": "mean intensity", "low_intensity_credits": "low-intensity hours"}
    )
    # rows in size order (resolution by pixels, then frames), not as text ("16" before "4")
    pixels = {name: h * w for name, (h, w) in RESOLUTIONS.items()}
    order = rows.assign(_pixels=rows.resolution.map(pixels).fillna(0))
    order = order.sort_values(["_pixels", "resolution", "frames"]).configuration.unique()
    base = alt.Chart(long).encode(
        x=alt.X("steps:O", title="denoising steps", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("configuration:N", title=None, sort=list(order)),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("credit:Q", scale=alt.Scale(scheme="oranges"), title="credits"),
        tooltip=[
            "model",
            "configuration",
            "steps",
            "period",
            alt.Tooltip("credit:Q", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(text=alt.Text("credit:Q", format=".2f"))
    return (
        (heat + text)
        .properties(width=220, height=160)
        .facet(
            column=alt.Column(
                "period:N", title=None, sort=["mean intensity", "low-intensity hours"]
            )
        )
        .properties(
            title=alt.TitleParams(
                f"{title}: the reference {rows.reference.iloc[0]} costs "
                f"{reference_credits:g} credits",
                subtitle=[
                    f"models: {', '.join(sorted(set(rows.model)))}; credits = reference credits "
                    "x predicted carbon / the reference's, from the laws of findings.md",
                    f"at the mean intensity of the series ({rows.intensity_g_per_kwh.iloc[0]:.0f}"
                    " g/kWh) and in its lowest-intensity hours of day (right)",
                ],
                anchor="start",
            )
        )
    )


def time_chart(by_time: pd.DataFrame, deferral: pd.DataFrame) -> alt.TopLevelMixin:
    """One job's carbon by hour of day and by month, and the saving of deferral by deadline."""
    title = "When a job runs changes its carbon"
    if by_time.empty:
        return no_data(title, "no hourly intensity scenario configured")
    cell = by_time.groupby("cell_id").total_g.mean().sort_values().index[-1]
    job = by_time[by_time.cell_id == cell]
    hours = (
        alt.Chart(job[job.period_kind == "hour_of_day"])
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title="hour of day"),
            y=alt.Y("total_g:Q", title="carbon of the job (g CO2e)", scale=alt.Scale(zero=False)),
            color=alt.Color("scenario:N"),
        )
        .properties(title="by hour of day", width=300, height=200)
    )
    months = (
        alt.Chart(job[job.period_kind == "month"])
        .mark_bar()
        .encode(
            x=alt.X("period:O", title="month"),
            y=alt.Y("total_g:Q", title="carbon of the job (g CO2e)"),
            color=alt.Color("scenario:N"),
        )
        .properties(title="by month", width=240, height=200)
    )
    panels = [hours, months]
    if not deferral.empty:
        saving = deferral.groupby(["scenario", "deadline_h"], as_index=False)[
            ["saving_fraction", "mean_delay_h"]
        ].mean()
        panels.append(
            alt.Chart(saving)
            .mark_bar()
            .encode(
                x=alt.X("deadline_h:O", title="deadline (hours)"),
                y=alt.Y("saving_fraction:Q", title="carbon saved", axis=alt.Axis(format="%")),
                color=alt.Color("scenario:N"),
                tooltip=[
                    "deadline_h",
                    alt.Tooltip("saving_fraction:Q", format=".1%"),
                    alt.Tooltip("mean_delay_h:Q", format=".1f"),
                ],
            )
            .properties(
                title="offline generation: start at the lowest-carbon hour", width=200, height=200
            )
        )
    return alt.hconcat(*panels).properties(
        title=alt.TitleParams(
            title,
            subtitle=f"cell: {cell} (the most expensive), under each hourly intensity series",
            anchor="start",
        )
    )
