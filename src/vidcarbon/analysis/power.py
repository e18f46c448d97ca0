"""The power signature of one job: statistics per phase and a trace chart with phases shaded."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from vidcarbon.analysis.render import no_data

PHASE_ORDER = ["load", "warmup", "encode", "denoise", "decode", "other"]


def phase_statistics(trace: pd.DataFrame, idle_power_w: dict[str, float]) -> pd.DataFrame:
    """Per (component, phase): mean, p95 and peak power (W), the largest ramp between
    consecutive samples (W/s) and the idle-to-peak swing (W).

    `trace` has columns t_s, component, power_w, phase (one job, as in traces.parquet).
    """
    rows = []
    for component, samples in trace.sort_values("t_s").groupby("component"):
        t = samples.t_s.to_numpy()
        w = samples.power_w.to_numpy()
        ramps = np.abs(np.diff(w) / np.maximum(np.diff(t), 1e-9)) if len(w) > 1 else np.array([])
        ramp_phase = samples.phase.to_numpy()[1:] if len(w) > 1 else np.array([])
        idle_w = idle_power_w.get(component)
        for phase, group in samples.groupby("phase", sort=False):
            power = group.power_w.to_numpy()
            in_phase = ramps[ramp_phase == phase]
            rows.append(
                {
                    "component": component,
                    "phase": phase,
                    "samples": len(power),
                    "mean_power_w": float(power.mean()),
                    "p95_power_w": float(np.percentile(power, 95)),
                    "peak_power_w": float(power.max()),
                    "max_ramp_w_per_s": float(in_phase.max()) if len(in_phase) else None,
                    "idle_to_peak_w": float(power.max() - idle_w) if idle_w is not None else None,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    rank = table.phase.map({p: i for i, p in enumerate(PHASE_ORDER)}).fillna(len(PHASE_ORDER))
    return table.assign(rank=rank).sort_values(["component", "rank"]).drop(columns="rank")


def trace_chart(trace: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """Power against time, one line per component, phases shaded behind it."""
    if trace.empty:
        return no_data(title, "no power samples for this job")
    by = ["job_id", "phase"] if "job_id" in trace else ["phase"]
    spans = (
        trace.groupby(by, as_index=False)
        .agg(start_s=("t_s", "min"), end_s=("t_s", "max"))
        .query("phase != 'other'")
    )
    shade = (
        alt.Chart(spans)
        .mark_rect(opacity=0.15)
        .encode(
            x=alt.X("start_s:Q", title="time since the job (or the prompt's encode job) began (s)"),
            x2="end_s:Q",
            color=alt.Color("phase:N", sort=PHASE_ORDER, title="phase"),
        )
    )
    lines = (
        alt.Chart(trace)
        .mark_line(interpolate="step-after")
        .encode(
            x="t_s:Q",
            y=alt.Y("power_w:Q", title="power (W)"),
            strokeDash=alt.StrokeDash("component:N", title="component"),
            tooltip=["t_s", "component", "power_w", "phase"],
        )
    )
    return (shade + lines).properties(title=title, width=640, height=260)


def prompt_to_video(traces: pd.DataFrame, runs: pd.DataFrame, cell_id: str | None) -> pd.DataFrame:
    """The trace of one cell from prompt to video: its prompt's encode job, then its generate
    job shifted to start where the encode job ended. Default cell: the most expensive ok one."""
    ok = runs[runs.status == "ok"]
    if cell_id is None:
        if ok.empty:
            return traces.iloc[0:0]
        cell_id = ok.sort_values("energy_j").cell_id.iloc[-1]
    row = runs[runs.cell_id == cell_id]
    if row.empty:
        return traces.iloc[0:0]
    encode_id = f"{row.model.iloc[0]}/{row.prompt_id.iloc[0]}/encode"
    encode = traces[traces.job_id == encode_id]
    generate = traces[traces.job_id == cell_id]
    offset = encode.t_s.max() if not encode.empty else 0.0
    return pd.concat([encode, generate.assign(t_s=generate.t_s + offset)], ignore_index=True)


def statistics_chart(stats: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """The per-phase statistics as a table."""
    if stats.empty:
        return no_data(title, "no power samples")
    columns = ["mean_power_w", "p95_power_w", "peak_power_w", "max_ramp_w_per_s", "idle_to_peak_w"]
    long = stats.melt(["component", "phase"], columns, var_name="statistic", value_name="value")
    long["row"] = long.component + " · " + long.phase
    return (
        alt.Chart(long)
        .mark_text()
        .encode(
            x=alt.X("statistic:N", sort=columns, title=None, axis=alt.Axis(orient="top")),
            y=alt.Y("row:N", sort=None, title=None),
            text=alt.Text("value:Q", format=".1f"),
        )
        .properties(title=title, width=520)
    )


def mean_power_chart(runs: pd.DataFrame) -> alt.TopLevelMixin:
    """Mean power of generation (energy / time, encode + denoise + decode) against video length."""
    title = "Mean power against video length"
    ok = runs[(runs.status == "ok") & runs.energy_j.notna() & (runs.generation_duration_s > 0)]
    if ok.empty:
        return no_data(title, "no successful cell")
    table = ok.assign(mean_power_w=ok.energy_j / ok.generation_duration_s)
    table = table.groupby(["resolution", "steps", "video_duration_s"], as_index=False)[
        "mean_power_w"
    ].mean()
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X("video_duration_s:Q", title="video length (s)"),
            y=alt.Y("mean_power_w:Q", title="mean power (W)", scale=alt.Scale(zero=False)),
            color=alt.Color("resolution:N"),
            strokeDash=alt.StrokeDash("steps:O"),
            tooltip=["resolution", "steps", "video_duration_s", "mean_power_w"],
        )
        .properties(title=title, width=360, height=200)
    )
