"""What each chart reads: its report category, the rule inputs (tables) and the settings
(rule params). The workflow plans one job per chart from this (`chart_<name>`), so a chart
that fails loses no other and a table change redraws only the charts that read it. It
imports no plotting or fitting library: every Snakemake start, one per SLURM job
included, parses the Snakefile. How each chart is drawn: `charts.DRAW`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartSpec:
    """A chart's report category, the rule inputs it reads (`optional` ones may be missing)
    and the settings it takes. A chart whose `inputs` the config does not make (the parallel
    table without `parallel:`) is not planned."""

    category: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    optional: tuple[str, ...] = ()


RQ5 = ChartSpec(
    "RQ5 resolution and duration", ("runs", "carbon"), ("scenario", "reference_resolution")
)
CARBON_AWARE = "Carbon-aware operation"

CHART_SPECS: dict[str, ChartSpec] = {
    "rq2_video_vs_text": ChartSpec(
        "RQ2 video vs text", (), ("comparison_scenario",), optional=("comparison",)
    ),
    "rq4_steps_carbon_quality": ChartSpec(
        "RQ4 steps, carbon and quality",
        ("runs", "carbon", "quality"),
        ("scenario", "reference_resolution", "random_weight_models"),
    ),
    "rq1_energy_sources": ChartSpec(
        "RQ1 embodied and operational carbon",
        ("runs", "carbon"),
        ("reference_resolution", "rq1_sources"),
    ),
    "rq3_phase_shares": ChartSpec("RQ3 phases", ("runs",), ()),
    "rq5_resolution": RQ5,
    "rq5_duration": RQ5,
    "power_trace": ChartSpec("Power signature", ("runs", "traces", "idle"), ("trace_cell",)),
    "carbon_credits": ChartSpec(CARBON_AWARE, ("credits",), ()),
    "carbon_by_time": ChartSpec(CARBON_AWARE, ("carbon_by_time", "deferral"), ()),
    "levers": ChartSpec("Levers", ("levers",), ("scenario", "fidelity_floor_ssim")),
    # planned only where the config has layouts (`parallel:`), which make its table
    "parallel": ChartSpec("Parallel cells", ("parallel",), ("scenario",)),
}
