from vidcarbon import jobs

jobs.fetch_weights(
    backend=snakemake.params.backend,
    options=snakemake.params.options,
    record_path=snakemake.output.record,
    log_path=snakemake.log[0],
)
