"""The power signature of one job: statistics per phase and a trace chart with phases shaded."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from vidcarbon.analysis.render import no_data

PHASE_ORDER = ["load", "warmup", "encode", "denoise", "decode", "other"]
# Vega's pastel1 colours, one per phase, whichever phases a trace has
PHASE_COLORS = {
    "load": "#fbb4ae",
    "warmup": "#b3cde3",
    "encode": "#ccebc5",
    "denoise": "#decbe4",
    "decode": "#fed9a6",
}
# Ramps are changes of the power averaged over this window, per second. Finer windows measure
# the sampler and the sensor rather than the device: NVML's board power is itself an average
# over about a second on recent NVIDIA drivers (nvidia-smi --help-query-gpu, power.draw.average).
RAMP_WINDOW_S = 1.0
# Points a trace line embeds at most: Altair refuses more than 5,000 rows of inline data, and
# a long job holds far more samples (an hour at 0.05 s is 72,000 per component).
MAX_TRACE_POINTS = 4000


def thin_trace(trace: pd.DataFrame, max_points: int = MAX_TRACE_POINTS):
    """(trace, None) if it has at most `max_points` samples; else (the mean power over equal
    time bins, per component and phase, about `max_points` rows in all; the bin width in s).
    A bin never mixes phases, so the shading and the line stay aligned."""
    if len(trace) <= max_points:
        return trace, None
    t0, span_s = trace.t_s.min(), trace.t_s.max() - trace.t_s.min()
    bin_s = span_s * trace.component.nunique() / max_points
    keys = [c for c in ("job_id", "component", "source", "phase") if c in trace]
    binned = (
        trace.assign(bin=((trace.t_s - t0) // bin_s).astype(int))
        .groupby([*keys, "bin"], as_index=False, sort=False)
        .agg(t_s=("t_s", "min"), power_w=("power_w", "mean"))
        .drop(columns="bin")
        .sort_values("t_s", kind="stable")
    )
    return binned, bin_s


def smoothed_ramps(t_s: np.ndarray, power_w: np.ndarray, window_s: float) -> np.ndarray:
    """|P(t) - P(t - window_s)| / window_s, where P(t) is the mean power over (t - window_s, t];
    NaN until the trace holds two full windows before t."""
    if len(t_s) < 2:
        return np.full(len(t_s), np.nan)
    series = pd.Series(power_w, index=pd.to_timedelta(t_s, unit="s"))
    smooth = series.rolling(pd.Timedelta(seconds=window_s)).mean().to_numpy()
    earlier = np.interp(t_s - window_s, t_s, smooth)
    ramps = np.abs(smooth - earlier) / window_s
    step = float(np.median(np.diff(t_s)))  # a window ending at t0 + w - step is already full
    ramps[t_s - t_s[0] < 2 * window_s - step - 1e-9] = np.nan
    return ramps


def phase_statistics(
    trace: pd.DataFrame,
    idle_power_w: dict[str, float],
    methods: dict[str, str] | None = None,
    window_s: float = RAMP_WINDOW_S,
) -> pd.DataFrame:
    """Per (component, phase): mean, p95 and peak power (W), the largest ramp of the power
    averaged over `window_s` (W/s, see `smoothed_ramps`) and the idle-to-peak swing (W).

    `trace` has columns t_s, component, power_w, phase (one job, as in traces.parquet).
    `methods` maps a component to how its energy was obtained (runs.<component>_method); an
    estimated component's power is CPU time x a per-core power, not a reading, so it gets no
    ramp.
    """
    methods = methods or {}
    rows = []
    for component, samples in trace.sort_values("t_s").groupby("component"):
        t = samples.t_s.to_numpy(dtype=float)
        method = methods.get(component)
        ramps = smoothed_ramps(t, samples.power_w.to_numpy(dtype=float), window_s)
        idle_w = idle_power_w.get(component)
        for phase, index in samples.groupby("phase", sort=False).indices.items():
            power = samples.power_w.to_numpy()[index]
            in_phase = ramps[index]
            in_phase = in_phase[np.isfinite(in_phase)]
            ramp = None if method == "estimated" or not len(in_phase) else float(in_phase.max())
            rows.append(
                {
                    "component": component,
                    "method": method,
                    "phase": phase,
                    "samples": len(power),
                    "mean_power_w": float(power.mean()),
                    "p95_power_w": float(np.percentile(power, 95)),
                    "peak_power_w": float(power.max()),
                    "max_ramp_w_per_s": ramp,
                    "idle_to_peak_w": float(power.max() - idle_w) if idle_w is not None else None,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    rank = table.phase.map({p: i for i, p in enumerate(PHASE_ORDER)}).fillna(len(PHASE_ORDER))
    return table.assign(rank=rank).sort_values(["component", "rank"]).drop(columns="rank")


def trace_chart(
    trace: pd.DataFrame, title: str, methods: dict[str, str] | None = None
) -> alt.TopLevelMixin:
    """Power against time, one line per component, phases shaded behind it; a component whose
    power is estimated says so in its legend entry."""
    if trace.empty:
        return no_data(title, "no power samples for this job")
    methods = methods or {}
    trace = trace.assign(
        source=trace.component.map(
            lambda c: f"{c} (estimated)" if methods.get(c) == "estimated" else c
        )
    )
    by = ["job_id", "phase"] if "job_id" in trace else ["phase"]
    samples = len(trace)
    line, bin_s = thin_trace(trace)
    if bin_s is not None:
        note = (
            f"line: mean power over {bin_s:.2g} s bins ({samples:,} samples thinned to "
            f"{len(line):,} points); the statistics below use every sample"
        )
        text = getattr(title, "text", title)
        subtitle = getattr(title, "subtitle", None)
        subtitle = [] if subtitle is alt.Undefined or subtitle is None else subtitle
        subtitle = [subtitle] if isinstance(subtitle, str) else list(subtitle)
        title = alt.TitleParams(text, subtitle=[*subtitle, note], anchor="start")
    spans = (
        trace.groupby(by, as_index=False)
        .agg(start_s=("t_s", "min"), end_s=("t_s", "max"))
        .query("phase != 'other'")
    )
    # the legend lists the phases drawn, each in its own colour in every chart
    shown = [p for p in PHASE_ORDER if p in set(spans.phase)]
    shade = (
        alt.Chart(spans)
        .mark_rect(opacity=0.3)
        .encode(
            x=alt.X(
                "start_s:Q",
                title="time since the prompt's encode job began (s)",
                axis=alt.Axis(labelOverlap="greedy", labelFlush=True),
            ),
            x2="end_s:Q",
            color=alt.Color(
                "phase:N",
                sort=PHASE_ORDER,
                scale=alt.Scale(domain=shown, range=[PHASE_COLORS[p] for p in shown]),
                title="phase (shading)",
            ),
        )
    )
    lines = (
        alt.Chart(line)
        .mark_line(interpolate="step-after", strokeWidth=1)
        .encode(
            x="t_s:Q",
            y=alt.Y("power_w:Q", title="power (W)"),
            color=alt.Color("source:N", scale=alt.Scale(scheme="dark2"), title="component (line)"),
            tooltip=["t_s", "component", "power_w", "phase"],
        )
    )
    return (
        (shade + lines)
        .resolve_scale(color="independent")
        .properties(title=title, width=640, height=260)
    )


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


def component_methods(runs: pd.DataFrame, cell_id: str) -> dict[str, str]:
    """component -> how the cell's energy of it was obtained (counter, rapl, estimated...)."""
    row = runs[runs.cell_id == cell_id]
    if row.empty:
        return {}
    return {
        c: row[f"{c}_method"].iloc[0]
        for c in ("gpu", "cpu", "dram")
        if f"{c}_method" in row and pd.notna(row[f"{c}_method"].iloc[0])
    }


STATISTICS = {
    "mean_power_w": "mean (W)",
    "p95_power_w": "p95 (W)",
    "peak_power_w": "peak (W)",
    "max_ramp_w_per_s": f"max ramp of the {RAMP_WINDOW_S:g} s mean (W/s)",
    "idle_to_peak_w": "peak - idle (W)",
}


def statistics_chart(stats: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """The per-phase statistics as a table; 'n/a' where a ramp is not reported."""
    if stats.empty:
        return no_data(title, "no power samples")
    long = stats.melt(
        ["component", "method", "phase"], list(STATISTICS), var_name="statistic", value_name="value"
    )
    long["statistic"] = long.statistic.map(STATISTICS)
    long["text"] = [
        f"{v:.1f}" if pd.notna(v) else ("n/a: estimated" if m == "estimated" else "n/a")
        for v, m in zip(long.value, long.method, strict=True)
    ]
    source = long.component.where(long.method != "estimated", long.component + " (estimated)")
    long["row"] = source + " · " + long.phase
    return (
        alt.Chart(long)
        .mark_text()
        .encode(
            x=alt.X(
                "statistic:N",
                sort=list(STATISTICS.values()),
                title=None,
                axis=alt.Axis(orient="top", labelAngle=0, labelLimit=180),
            ),
            y=alt.Y("row:N", sort=None, title=None),
            text="text:N",
        )
        .properties(title=title, width=700)
    )


def mean_power_chart(runs: pd.DataFrame) -> alt.TopLevelMixin:
    """Mean power of generation (energy / time, encode + denoise + decode) against video
    length: one line per resolution, one panel per step count."""
    title = "Mean power of generation against video length"
    ok = runs[(runs.status == "ok") & runs.energy_j.notna() & (runs.generation_duration_s > 0)]
    if ok.empty:
        return no_data(title, "no successful cell")
    table = ok.assign(mean_power_w=ok.energy_j / ok.generation_duration_s)
    table = table.groupby(["resolution", "steps", "video_duration_s"], as_index=False)[
        "mean_power_w"
    ].mean()
    estimated = "cpu_method" in ok and ok.cpu_method.eq("estimated").any()
    subtitle = "energy / wall time of encode + denoise + decode, mean over prompts"
    if estimated:
        subtitle += "; CPU power estimated from CPU time"
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X("video_duration_s:Q", title="video length (s)"),
            y=alt.Y("mean_power_w:Q", title="mean power (W)", scale=alt.Scale(zero=False)),
            color=alt.Color("resolution:N", title="resolution", scale=alt.Scale(scheme="set1")),
            tooltip=["resolution", "steps", "video_duration_s", "mean_power_w"],
        )
        .properties(width=180, height=160)
        .facet(column=alt.Column("steps:O", title="denoising steps"))
        .properties(title=alt.TitleParams(title, subtitle=subtitle, anchor="start"))
    )
