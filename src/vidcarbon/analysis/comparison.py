"""RQ2: video against image and text, per request and per output unit (frame, image, token);
and RQ4: carbon and quality as denoising steps grow."""

from __future__ import annotations

import altair as alt
import pandas as pd

from vidcarbon.analysis.render import no_data

MODALITIES = ["text", "image", "video"]
# A study's video shapes beyond this many are shown by their spread, one row each would make
# the chart thousands of pixels tall (250 rows at 10,000 cells).
MAX_VIDEO_SHAPES = 12
SPREAD = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def video_spread(rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """`rows` with each video model's shapes cut to its cheapest, costliest and the 10, 25,
    50, 75 and 90 % quantiles of carbon per request, where it has more than
    MAX_VIDEO_SHAPES; and the words saying which shapes are shown."""
    video = rows[rows.modality == "video"]
    counts = video.groupby("model").size()
    if counts.le(MAX_VIDEO_SHAPES).all():
        return rows, "video: every measured shape (resolution_f<frames>_s<steps>)"
    kept = []
    for _, shapes in video.groupby("model", sort=True):
        shapes = shapes.sort_values("carbon_per_request_g")
        if len(shapes) > MAX_VIDEO_SHAPES:
            at = sorted({round(q * (len(shapes) - 1)) for q in SPREAD})
            shapes = shapes.iloc[at]
        kept.append(shapes)
    words = (
        f"video: of {counts.max()} measured shapes (resolution_f<frames>_s<steps>) the "
        "cheapest, the costliest and the 10/25/50/75/90 % quantiles of carbon per request"
    )
    return pd.concat([rows[rows.modality != "video"], *kept], ignore_index=True), words


def _at_paper_tokens(rows: pd.DataFrame) -> pd.DataFrame:
    """The reference text as it would be at the paper's answer length (an estimate)."""
    text = rows[(rows.modality == "text") & (rows.group == "all")]
    ref = text[text.model == text.reference_text].dropna(
        subset=["reference_energy_at_paper_tokens_j"]
    )
    if ref.empty:
        return ref
    ref = ref.iloc[:1]
    scale = ref.reference_energy_at_paper_tokens_j / ref.energy_per_request_j
    tokens = ref.paper_output_tokens
    return ref.assign(
        group="at the paper's answer length (estimate)",
        units_per_request=tokens,
        carbon_per_request_g=ref.carbon_per_request_g * scale,
        carbon_per_unit_g=ref.carbon_per_request_g * scale / tokens,
    )


def request_and_unit_chart(comparison: pd.DataFrame | None, scenario: str) -> alt.TopLevelMixin:
    """Carbon per request and per unit at `scenario`, log scale, one dot per group; text
    groups (each dataset, all of them, and the reference at the paper's 208-token answers)
    are labelled with their mean answer length, which drives the per-request ratio."""
    title = f"Video vs image vs text at {scenario}"
    if comparison is None:
        return no_data(title, "no llm: or image: section in the config, so no baseline ran")
    rows = comparison[comparison.scenario == scenario].dropna(subset=["carbon_per_request_g"])
    if rows.empty:
        return no_data(title, f"no comparison rows at scenario {scenario!r}")
    rows = pd.concat([rows, _at_paper_tokens(rows)], ignore_index=True)
    rows, video_words = video_spread(rows)
    tokens = rows.units_per_request.map(lambda n: f" ({n:.0f} tokens)")
    rows = rows.assign(
        label=rows.modality
        + ": "
        + rows.model
        + " "
        + rows.group
        + tokens.where(rows.modality == "text", "")
    )
    order = list(rows.sort_values("carbon_per_request_g").label)

    def panel(column: str, what: str, labels: bool) -> alt.Chart:
        # the row labels once, on the left panel: the right one shares its rows
        axis = alt.Axis(labelLimit=360) if labels else alt.Axis(labels=False, ticks=False)
        return (
            alt.Chart(rows)
            .mark_point(filled=True, size=90)  # a dot plot: bars have no zero on a log scale
            .encode(
                y=alt.Y("label:N", sort=order, title=None, axis=axis),
                x=alt.X(
                    f"{column}:Q",
                    scale=alt.Scale(type="log", nice=False, padding=12),
                    axis=alt.Axis(format=".0e", labelOverlap="greedy"),
                    title=what,
                ),
                color=alt.Color("modality:N", sort=MODALITIES),
                tooltip=[
                    "label",
                    "unit",
                    column,
                    "request_ratio_vs_text",
                    "unit_ratio_vs_text",
                    "request_ratio_at_paper_tokens",
                    "unit_ratio_at_paper_tokens",
                ],
            )
            .properties(width=260, height=alt.Step(14))
        )

    per_request = panel("carbon_per_request_g", "g CO2e per request (log scale)", True)
    per_unit = panel("carbon_per_unit_g", "g CO2e per unit: token, image, frame (log scale)", False)
    first = rows.iloc[0]
    subtitle = [
        "operational carbon at "
        f"{first.intensity_g_per_kwh:g} g/kWh, PUE {first.pue:g}; text: each dataset and all "
        "together, with the mean answer length",
        video_words,
    ]
    heading = f"Video vs image vs text at {first.intensity_g_per_kwh:g} g/kWh"
    return (
        alt.hconcat(per_request, per_unit, spacing=12)
        .resolve_scale(y="shared")
        .properties(
            title=alt.TitleParams(
                f"{heading}: carbon per request and per output unit",
                subtitle=subtitle,
                anchor="start",
            )
        )
    )


# Which way each quality metric improves (VBench's are all "higher is better").
METRIC_DIRECTION = {
    "temporal_flickering": "higher is better (1: no change between frames)",
    "sharpness": "higher is sharper (noise raises it too)",
    "noise": "lower is better",
    "imaging_quality": "higher is better",
    "overall_consistency": "higher is better",
}


def steps_chart(
    carbon: pd.DataFrame,
    quality: pd.DataFrame | None,
    scenario: str,
    resolution: str,
    random_weight_models: tuple[str, ...] = (),
) -> alt.TopLevelMixin:
    """Carbon per video and each quality metric against steps, at one resolution (the most
    frames). Scores from random placeholder weights (`pretrained == False`) are left out;
    scores of videos from random-weight generators are shown but marked as meaningless."""
    title = f"Carbon and quality against denoising steps ({scenario})"
    cells = carbon[(carbon.scenario == scenario) & (carbon.status == "ok")].dropna(
        subset=["total_g"]
    )
    if cells.empty:
        return no_data(title, f"no carbon at scenario {scenario!r}")
    if resolution in set(cells.resolution):
        cells = cells[cells.resolution == resolution]
    cells = cells[cells.frames == cells.frames.max()]
    subtitle = [
        f"cells: {cells.resolution.iloc[0]}, {cells.frames.iloc[0]} frames (the most at the "
        "reference resolution), mean over prompts"
    ]
    random = sorted(set(cells.model) & set(random_weight_models))
    if random:
        subtitle.append(
            f"videos of random-weight models ({', '.join(random)}): their quality scores "
            "carry no quality meaning; they show the scoring runs"
        )
    carbon_by_steps = cells.groupby("steps", as_index=False).total_g.mean()
    left = (
        alt.Chart(carbon_by_steps)
        .mark_line(point=True)
        .encode(
            x=alt.X("steps:Q", title="denoising steps"),
            y=alt.Y("total_g:Q", title="carbon per video (g CO2e)"),
        )
        .properties(title="carbon per video", width=240, height=200)
    )
    heading = alt.TitleParams(title, subtitle=subtitle, anchor="start")
    if quality is None or quality.empty:
        right = no_data("quality", "no quality table")
        return alt.hconcat(left, right).properties(title=heading)
    scored = quality[(quality.status == "ok") & (quality.pretrained.fillna(True))]
    scored = scored[scored.cell_id.isin(cells.cell_id)]
    if scored.empty:
        right = no_data("quality", "no pretrained or weight-free score for these cells")
        return alt.hconcat(left, right).properties(title=heading)
    by_steps = scored.groupby(
        ["metric", "unit", "steps"], as_index=False, dropna=False
    ).value.mean()
    by_steps["panel"] = [
        f"{m} ({u})|{METRIC_DIRECTION.get(m, 'see docs/quality.md')}"
        for m, u in zip(by_steps.metric, by_steps.unit, strict=True)
    ]
    right = (
        alt.Chart(by_steps)
        .mark_line(point=True)
        .encode(
            x=alt.X("steps:Q", title="denoising steps"),
            y=alt.Y("value:Q", title="score", scale=alt.Scale(zero=False)),
        )
        .properties(width=190, height=200)
        .facet(
            column=alt.Column(
                "panel:N",
                title="quality, one scale per metric",
                # two lines: "metric (unit)", then which way is better
                header=alt.Header(labelExpr="split(datum.label, '|')", labelFontSize=11),
            )
        )
        .resolve_scale(y="independent")
    )
    return alt.hconcat(left, right).properties(title=heading)
