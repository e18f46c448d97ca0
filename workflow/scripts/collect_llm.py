from vidcarbon.llm.collect import collect_llm

collect_llm(
    request_records=snakemake.input.requests,
    idle_records=snakemake.input.idle,
    llm_path=snakemake.output.llm,
    config_hash=snakemake.params.config_hash,
)
