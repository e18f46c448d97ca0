from vidcarbon.llm import jobs

jobs.fetch_weights(
    spec=snakemake.params.spec,
    record_path=snakemake.output.record,
    log_path=snakemake.log[0],
)
