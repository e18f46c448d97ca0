from pathlib import Path

from vidcarbon.analysis.charts import render_measurement_charts

render_measurement_charts(
    runs_path=snakemake.input.runs,
    quality_path=snakemake.input.quality,
    comparison_path=snakemake.input.get("comparison"),
    scenario=snakemake.params.scenario,
    carbon_path=snakemake.input.carbon,
    carbon_by_time_path=snakemake.input.carbon_by_time,
    deferral_path=snakemake.input.deferral,
    credits_path=snakemake.input.credits,
    traces_path=snakemake.input.traces,
    idle_records=snakemake.input.idle,
    out_dir=Path(snakemake.output[0]).parent,
    reference_resolution=snakemake.params.reference_resolution,
    trace_cell=snakemake.params.trace_cell,
    random_weight_models=snakemake.params.random_weight_models,
)
