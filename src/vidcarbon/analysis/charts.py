"""How each chart of `chart_specs.CHART_SPECS` is drawn from the tables and settings its spec
names, and written to HTML and PNG (one `chart_<name>` job each)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from vidcarbon.analysis import (
    carbon_time,
    levers,
    parallel,
    phases,
    power,
    scaling,
    shared_counters,
    sources,
)
from vidcarbon.analysis import comparison as comparison_charts
from vidcarbon.analysis.embodied import headline
from vidcarbon.analysis.render import save
from vidcarbon.levers import baseline_rows
from vidcarbon.records import read_json
from vidcarbon.tables import read_table

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """The table files of a chart job (rule input name -> path), each read on first use.
    Cells whose device-wide counter was shared with another process are left out of runs,
    carbon and quality (`shared_counters`); so are the lever cells and the cells on several
    devices (`levers.baseline_rows`), except in the levers and parallel tables."""

    paths: dict[str, str]

    def _read(self, name: str, table: str) -> pd.DataFrame:
        return read_table(table, self.paths[name]).to_pandas()

    @cached_property
    def measured(self) -> pd.DataFrame:
        return self._read("runs", "runs")

    @cached_property
    def runs(self) -> pd.DataFrame:
        runs, left_out = shared_counters.without_shared(baseline_rows(self.measured))
        if left_out:
            log.warning(shared_counters.note(left_out))
        return runs

    @cached_property
    def carbon_sources(self) -> pd.DataFrame:
        """The carbon table's baseline cells, a row per embodied source (the RQ1 chart's)."""
        carbon = baseline_rows(self._read("carbon", "carbon"))
        return shared_counters.without_cells(carbon, self.measured)

    @cached_property
    def carbon(self) -> pd.DataFrame:
        """The headline rows of the carbon table: ACT's embodied carbon."""
        return headline(self.carbon_sources)

    @cached_property
    def quality(self) -> pd.DataFrame:
        quality = baseline_rows(self._read("quality", "quality"))
        return shared_counters.without_cells(quality, self.measured)

    @cached_property
    def comparison(self) -> pd.DataFrame | None:
        """video_vs_text, or None where the config has no text or image baseline."""
        return self._read("comparison", "video_vs_text") if "comparison" in self.paths else None

    def table(self, name: str) -> pd.DataFrame:
        """A table read as it is (credits, carbon_by_time, deferral, traces)."""
        return self._read(name, name)

    @cached_property
    def idle_power_w(self) -> dict[str, float]:
        idle: dict[str, float] = {}
        for path in self.paths["idle"]:
            idle.update(read_json(path).get("idle_power_w", {}))
        return idle


def power_trace(inputs: Inputs, trace_cell: str | None) -> alt.TopLevelMixin:
    """One cell's power from prompt to video, the power per phase, and mean power per cell."""
    runs = inputs.runs
    trace = power.prompt_to_video(inputs.table("traces"), runs, trace_cell)
    cell = trace.job_id.iloc[-1] if not trace.empty else (trace_cell or "no cell")
    methods = power.component_methods(runs, cell)
    title = alt.TitleParams(
        "Power from prompt to video",
        subtitle=f"{cell} ({'configured' if trace_cell else 'the most expensive cell'}): its "
        "prompt's encode job, then its generate job",
        anchor="start",
    )
    stats = (
        power.phase_statistics(trace, inputs.idle_power_w, methods) if not trace.empty else trace
    )
    return alt.vconcat(
        power.trace_chart(trace, title, methods),
        power.statistics_chart(stats, "Power per phase"),
        power.mean_power_chart(runs),
    ).resolve_scale(color="independent")


# How each chart of chart_specs.CHART_SPECS is drawn from its inputs and settings.
DRAW: dict[str, Callable[..., alt.TopLevelMixin]] = {
    "rq2_video_vs_text": lambda i, comparison_scenario: comparison_charts.request_and_unit_chart(
        i.comparison, comparison_scenario
    ),
    "rq4_steps_carbon_quality": lambda i, scenario, reference_resolution, random_weight_models: (
        comparison_charts.steps_chart(
            i.carbon, i.quality, scenario, reference_resolution, tuple(random_weight_models)
        )
    ),
    "rq1_energy_sources": lambda i, reference_resolution, rq1_sources: sources.source_chart(
        i.carbon_sources, reference_resolution, rq1_sources
    ),
    "rq3_phase_shares": lambda i: phases.phase_share_chart(i.runs),
    "rq5_resolution": lambda i, scenario, reference_resolution: scaling.resolution_chart(
        i.runs, i.carbon, scenario, reference_resolution
    ),
    "rq5_duration": lambda i, scenario, reference_resolution: scaling.duration_chart(
        i.runs, i.carbon, scenario, reference_resolution
    ),
    "power_trace": power_trace,
    "carbon_credits": lambda i: carbon_time.credits_chart(i.table("credits")),
    "carbon_by_time": lambda i: carbon_time.time_chart(
        i.table("carbon_by_time"), i.table("deferral")
    ),
    "levers": lambda i, scenario, fidelity_floor_ssim: levers.levers_chart(
        i.table("levers"), scenario, fidelity_floor_ssim
    ),
    "parallel": lambda i, scenario: parallel.parallel_chart(i.table("parallel"), scenario),
}


def render_chart(name: str, inputs: dict[str, Any], params: dict[str, Any], stem: str | Path):
    """Draw chart `name` from its input files with its settings; write `stem`.html and .png."""
    return save(DRAW[name](Inputs(dict(inputs)), **params), Path(stem).with_suffix(""))
