from vidcarbon import jobs

jobs.idle_baseline(
    measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
    duration_s=snakemake.params.duration_s,
    record_path=snakemake.output.record,
    log_path=snakemake.log[0],
)
