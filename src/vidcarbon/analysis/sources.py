"""RQ1: carbon per video by energy source, operational and embodied stacked, embodied share
labelled (the paper's Fig. 2)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.render import no_data

TITLE = "Carbon per video by energy source"


def by_source(carbon: pd.DataFrame, reference_resolution: str) -> tuple[pd.DataFrame, str]:
    """Mean operational and embodied carbon per source scenario, for the most expensive
    shape at the reference resolution (or at any resolution if absent); and its label."""
    rows = carbon[(carbon.scenario_kind == "source") & (carbon.status == "ok")]
    rows = rows.dropna(subset=["total_g"])
    if rows.empty:
        return rows, ""
    if reference_resolution in set(rows.resolution):
        rows = rows[rows.resolution == reference_resolution]
    cell = rows.sort_values("energy_j").iloc[-1]
    rows = rows[(rows.resolution == cell.resolution) & (rows.frames == cell.frames)]
    rows = rows[rows.steps == cell.steps]
    label = f"{cell.model}, {cell.resolution}, {cell.frames} frames, {cell.steps} steps"
    table = rows.groupby(["scenario", "intensity_g_per_kwh"], as_index=False)[
        ["operational_g", "embodied_g", "total_g"]
    ].mean()
    table["embodied_share"] = table.embodied_g / table.total_g
    return table.sort_values("intensity_g_per_kwh"), label


def source_chart(carbon: pd.DataFrame, reference_resolution: str = "240p") -> alt.TopLevelMixin:
    table, label = by_source(carbon, reference_resolution)
    if table.empty:
        return no_data(TITLE, "no energy-source scenario or no successful cell")
    order = list(table.scenario)
    long = table.melt(
        ["scenario", "intensity_g_per_kwh"], ["operational_g", "embodied_g"], "part", "carbon_g"
    )
    long["part"] = long.part.str.removesuffix("_g")
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("scenario:N", sort=order, title="energy source (ACT lifecycle intensity)"),
            y=alt.Y("carbon_g:Q", title="carbon per video (g CO2e)"),
            color=alt.Color("part:N", title="carbon", sort=["operational", "embodied"]),
            tooltip=["scenario", "intensity_g_per_kwh", "part", "carbon_g"],
        )
    )
    labels = (
        alt.Chart(table)
        .mark_text(dy=-4, baseline="bottom", fontSize=10)
        .encode(
            x=alt.X("scenario:N", sort=order),
            y="total_g:Q",
            text=alt.Text("embodied_share:Q", format=".1%"),
        )
    )
    return (bars + labels).properties(
        title=f"{TITLE} ({label}; label: embodied share)", width=460, height=280
    )
