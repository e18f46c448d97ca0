"""RQ1: carbon per video by energy source, operational and embodied stacked, one bar per
embodied source side by side, embodied share labelled (the paper's Fig. 2); and the same for
the paper's GPU at its setting, modelled from Eq. 1 (`analysis.embodied`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.embodied import PAPER
from vidcarbon.analysis.render import no_data

TITLE = "Carbon per video by energy source and embodied source"
PAPER_TITLE = "The paper's GPU at its setting, modelled: embodied share of the carbon"
SECONDS_PER_HOUR = 3600.0


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


def _source_order(table: pd.DataFrame) -> list[str]:
    """Embodied sources, ACT's (the headline) first, then by growing embodied carbon."""
    means = table.groupby("embodied_source").embodied_g.mean().sort_values(kind="stable")
    return sorted(means.index, key=lambda s: (s != "act", list(means.index).index(s)))


def by_source(carbon: pd.DataFrame, reference_resolution: str) -> tuple[pd.DataFrame, str]:
    """Mean operational and embodied carbon per energy-source scenario and embodied source at
    the configuration of `source_cells`; and its label."""
    rows = source_cells(carbon[carbon.scenario_kind == "source"], reference_resolution)
    if rows.empty:
        return rows, ""
    cell = rows.iloc[0]
    # a cell has one row per scenario and embodied source
    n_cells = int(rows.groupby(["scenario", "embodied_source"]).size().max())
    label = f"{cell.model}, {cell.resolution}, {cell.frames} frames, {cell.steps} steps, " + (
        f"mean of {n_cells} cells" if n_cells > 1 else "one cell"
    )
    # per-cell shares, then their mean: the figures findings.md checks (RQ1 claims)
    rows = rows.assign(
        embodied_share=rows.embodied_g / rows.total_g,
        operational_per_embodied=rows.operational_g / rows.embodied_g,
    )
    table = rows.groupby(["scenario", "intensity_g_per_kwh", "embodied_source"], as_index=False)[
        ["operational_g", "embodied_g", "total_g", "embodied_share", "operational_per_embodied"]
    ].mean()
    return table.sort_values("intensity_g_per_kwh", kind="stable"), label


def paper_by_source(scenarios: pd.DataFrame, rq1_sources: list[dict]) -> pd.DataFrame:
    """Operational and embodied carbon of one hour of generation on the paper's GPU at its
    setting, per energy-source scenario (`scenario`, `intensity_g_per_kwh`) and embodied
    source."""
    rows = []
    for s in scenarios.itertuples():
        for src in rq1_sources:
            operational = PAPER.operational_g_per_s(s.intensity_g_per_kwh, PAPER.power_w)
            embodied = PAPER.embodied_g_per_s(src["embodied_g"])
            rows.append(
                {
                    "scenario": s.scenario,
                    "intensity_g_per_kwh": s.intensity_g_per_kwh,
                    "embodied_source": src["source"],
                    "operational_g": operational * SECONDS_PER_HOUR,
                    "embodied_g": embodied * SECONDS_PER_HOUR,
                    "total_g": (operational + embodied) * SECONDS_PER_HOUR,
                    "embodied_share": embodied / (operational + embodied),
                    "operational_per_embodied": operational / embodied,
                }
            )
    return pd.DataFrame(rows)


def _bars(table: pd.DataFrame, y_title: str) -> alt.LayerChart:
    """Stacked operational and embodied bars per energy source, one per embodied source side
    by side (the embodied part coloured by its source), labelled with the embodied share."""
    order = list(dict.fromkeys(table.sort_values("intensity_g_per_kwh").scenario))
    sources = _source_order(table)
    long = table.melt(
        ["scenario", "intensity_g_per_kwh", "embodied_source", "operational_per_embodied"],
        ["operational_g", "embodied_g"],
        "part",
        "carbon_g",
    )
    long["series"] = long.part.where(
        long.part == "operational_g", "embodied: " + long.embodied_source
    )
    long["series"] = long.series.replace({"operational_g": "operational"})
    long["stack"] = (long.part == "embodied_g").astype(int)  # operational at the bottom
    series = ["operational", *(f"embodied: {s}" for s in sources)]
    offset = alt.XOffset("embodied_source:N", sort=sources, title="embodied source")
    x = alt.X(
        "scenario:N",
        sort=order,
        title="energy source (ACT lifecycle intensity)",
        axis=alt.Axis(labelAngle=0),
    )
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=x,
            xOffset=offset,
            y=alt.Y("carbon_g:Q", title=y_title),
            color=alt.Color("series:N", sort=series, title="carbon"),
            order=alt.Order("stack:Q"),
            tooltip=[
                "scenario",
                "intensity_g_per_kwh",
                "embodied_source",
                "series",
                "carbon_g",
                "operational_per_embodied",
            ],
        )
    )
    labels = (
        alt.Chart(table)
        .mark_text(dy=-4, baseline="bottom", fontSize=9, angle=0)
        .encode(
            x=x,
            xOffset=offset,
            y="total_g:Q",
            text=alt.Text("embodied_share:Q", format=".1%"),
        )
    )
    return bars + labels


def _shares(table: pd.DataFrame) -> alt.LayerChart:
    """Embodied share of the carbon per energy source, one bar per embodied source side by
    side, with the 50 % line above which embodied carbon is the larger part."""
    order = list(dict.fromkeys(table.sort_values("intensity_g_per_kwh").scenario))
    sources = _source_order(table)
    x = alt.X(
        "scenario:N",
        sort=order,
        title="energy source (ACT lifecycle intensity)",
        axis=alt.Axis(labelAngle=0),
    )
    offset = alt.XOffset("embodied_source:N", sort=sources, title="embodied source")
    bars = (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=x,
            xOffset=offset,
            y=alt.Y(
                "embodied_share:Q",
                title="embodied share of the carbon",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("embodied_source:N", sort=sources, title="embodied source"),
            tooltip=[
                "scenario",
                "intensity_g_per_kwh",
                "embodied_source",
                alt.Tooltip("embodied_share:Q", format=".2%"),
                "operational_per_embodied",
            ],
        )
    )
    labels = bars.mark_text(dy=-4, baseline="bottom", fontSize=9).encode(
        text=alt.Text("embodied_share:Q", format=".1%"), color=alt.value("black")
    )
    half = (
        alt.Chart(pd.DataFrame({"share": [0.5]})).mark_rule(strokeDash=[4, 4]).encode(y="share:Q")
    )
    return bars + labels + half


def source_chart(
    carbon: pd.DataFrame, reference_resolution: str = "240p", rq1_sources: list[dict] = ()
) -> alt.TopLevelMixin:
    table, label = by_source(carbon, reference_resolution)
    if table.empty:
        return no_data(TITLE, "no energy-source scenario or no successful cell")
    device = carbon.embodied_device.iloc[0]
    measured = _bars(table, "carbon per video (g CO2e)").properties(
        title=alt.TitleParams(
            TITLE,
            subtitle=[
                f"cells: {label} (the most expensive at {reference_resolution}); embodied "
                f"carbon of {device}",
                "label: embodied share of the total (mean over cells); act is the headline",
            ],
            anchor="start",
        ),
        width=520,
        height=260,
    )
    if not rq1_sources:
        return measured
    scenarios = table[["scenario", "intensity_g_per_kwh"]].drop_duplicates()
    paper = _shares(paper_by_source(scenarios, list(rq1_sources))).properties(
        title=alt.TitleParams(
            PAPER_TITLE,
            subtitle=[
                PAPER.describe(rq1_sources[0]["device"]),
                "above the dashed 50 % line embodied carbon is the larger part: the paper's "
                "RQ1 conclusion does not hold under that embodied source",
            ],
            anchor="start",
        ),
        width=520,
        height=260,
    )
    return alt.vconcat(measured, paper).resolve_scale(color="independent", xOffset="independent")
