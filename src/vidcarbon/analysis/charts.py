"""Render the charts of the measurement and carbon tables."""

from __future__ import annotations

import logging
from pathlib import Path

import altair as alt

from vidcarbon.analysis import carbon_time, phases, power, scaling, shared_counters, sources
from vidcarbon.analysis import comparison as comparison_charts
from vidcarbon.analysis.render import save
from vidcarbon.records import read_json
from vidcarbon.tables import read_table

log = logging.getLogger(__name__)


def render_measurement_charts(
    runs_path: str | Path,
    quality_path: str | Path,
    comparison_path: str | Path | None,
    scenario: str,
    carbon_path: str | Path,
    carbon_by_time_path: str | Path,
    deferral_path: str | Path,
    credits_path: str | Path,
    traces_path: str | Path,
    idle_records: list[str | Path],
    out_dir: str | Path,
    reference_resolution: str,
    trace_cell: str | None,
    random_weight_models: tuple[str, ...] = (),
) -> None:
    """Every chart of the measurement and carbon tables, as HTML and PNG; cells whose
    device-wide counter was shared with another process are left out (`shared_counters`)."""
    measured = read_table("runs", runs_path).to_pandas()
    runs, left_out = shared_counters.without_shared(measured)
    if left_out:
        log.warning(shared_counters.note(left_out))
    carbon = read_table("carbon", carbon_path).to_pandas()
    carbon = shared_counters.without_cells(carbon, measured)
    traces = read_table("traces", traces_path).to_pandas()
    idle_power_w: dict[str, float] = {}
    for path in idle_records:
        idle_power_w.update(read_json(path).get("idle_power_w", {}))
    out_dir = Path(out_dir)
    save(sources.source_chart(carbon, reference_resolution), out_dir / "rq1_energy_sources")
    comparison = (
        read_table("video_vs_text", comparison_path).to_pandas() if comparison_path else None
    )
    save(
        comparison_charts.request_and_unit_chart(comparison, "paper-100g"),
        out_dir / "rq2_video_vs_text",
    )
    quality = read_table("quality", quality_path).to_pandas()
    quality = shared_counters.without_cells(quality, measured)
    save(
        comparison_charts.steps_chart(
            carbon, quality, scenario, reference_resolution, tuple(random_weight_models)
        ),
        out_dir / "rq4_steps_carbon_quality",
    )
    credits = read_table("credits", credits_path).to_pandas()
    save(carbon_time.credits_chart(credits), out_dir / "carbon_credits")
    by_time = read_table("carbon_by_time", carbon_by_time_path).to_pandas()
    deferral = read_table("deferral", deferral_path).to_pandas()
    save(carbon_time.time_chart(by_time, deferral), out_dir / "carbon_by_time")
    save(phases.phase_share_chart(runs), out_dir / "rq3_phase_shares")
    save(
        scaling.resolution_chart(runs, carbon, scenario, reference_resolution),
        out_dir / "rq5_resolution",
    )
    save(
        scaling.duration_chart(runs, carbon, scenario, reference_resolution),
        out_dir / "rq5_duration",
    )
    trace = power.prompt_to_video(traces, runs, trace_cell)
    cell = trace.job_id.iloc[-1] if not trace.empty else (trace_cell or "no cell")
    methods = power.component_methods(runs, cell)
    title = alt.TitleParams(
        "Power from prompt to video",
        subtitle=f"{cell} ({'configured' if trace_cell else 'the most expensive cell'}): its "
        "prompt's encode job, then its generate job",
        anchor="start",
    )
    stats = power.phase_statistics(trace, idle_power_w, methods) if not trace.empty else trace
    chart = alt.vconcat(
        power.trace_chart(trace, title, methods),
        power.statistics_chart(stats, "Power per phase"),
        power.mean_power_chart(runs),
    ).resolve_scale(color="independent")
    save(chart, out_dir / "power_trace")
