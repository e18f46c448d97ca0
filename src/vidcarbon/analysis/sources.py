"""RQ1: carbon per video by energy source, operational and embodied stacked, embodied share
labelled (the paper's Fig. 2)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.render import no_data

TITLE = "Carbon per video by energy source"


def source_cells(carbon: pd.DataFrame, reference_resolution: str) -> pd.DataFrame:
    """The ok rows of the configuration the chart shows: the most expensive cell at the
    reference resolution (at any resolution if absent), its model, frames and steps."""
    rows = carbon[carbon.status == "ok"].dropna(subset=["total_g"])
    if rows.empty:
        return rows
    if reference_resolution in set(rows.resolution):
        rows = rows[rows.resolution == reference_resolution]
    cell = rows.sort_values("energy_j").iloc[-1]
    return rows[
        (rows.model == cell.model)
        & (rows.resolution == cell.resolution)
        & (rows.frames == cell.frames)
        & (rows.steps == cell.steps)
    ]


def by_source(carbon: pd.DataFrame, reference_resolution: str) -> tuple[pd.DataFrame, str]:
    """Mean operational and embodied carbon per source scenario at the configuration of
    `source_cells`; and its label."""
    rows = source_cells(carbon[carbon.scenario_kind == "source"], reference_resolution)
    if rows.empty:
        return rows, ""
    cell = rows.iloc[0]
    n_cells = int(rows.groupby("scenario").size().max())  # a cell has one row per scenario
    label = f"{cell.model}, {cell.resolution}, {cell.frames} frames, {cell.steps} steps, " + (
        f"mean of {n_cells} cells" if n_cells > 1 else "one cell"
    )
    # per-cell shares, then their mean: the figures findings.md checks (RQ1 claims)
    rows = rows.assign(
        embodied_share=rows.embodied_g / rows.total_g,
        operational_per_embodied=rows.operational_g / rows.embodied_g,
    )
    table = rows.groupby(["scenario", "intensity_g_per_kwh"], as_index=False)[
        ["operational_g", "embodied_g", "total_g", "embodied_share", "operational_per_embodied"]
    ].mean()
    return table.sort_values("intensity_g_per_kwh"), label


def source_chart(carbon: pd.DataFrame, reference_resolution: str = "240p") -> alt.TopLevelMixin:
    table, label = by_source(carbon, reference_resolution)
    if table.empty:
        return no_data(TITLE, "no energy-source scenario or no successful cell")
    order = list(table.scenario)
    long = table.melt(
        ["scenario", "intensity_g_per_kwh", "operational_per_embodied"],
        ["operational_g", "embodied_g"],
        "part",
        "carbon_g",
    )
    long["part"] = long.part.str.removesuffix("_g")
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("scenario:N", sort=order, title="energy source (ACT lifecycle intensity)"),
            y=alt.Y("carbon_g:Q", title="carbon per video (g CO2e)"),
            color=alt.Color("part:N", title="carbon", sort=["operational", "embodied"]),
            tooltip=[
                "scenario",
                "intensity_g_per_kwh",
                "part",
                "carbon_g",
                "operational_per_embodied",
            ],
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
    subtitle = [
        f"cells: {label} (the most expensive at {reference_resolution})",
        "label: embodied share of the total (mean over cells)",
    ]
    return (bars + labels).properties(
        title=alt.TitleParams(TITLE, subtitle=subtitle, anchor="start"), width=460, height=280
    )
