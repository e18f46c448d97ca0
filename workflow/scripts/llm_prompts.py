from vidcarbon.llm import jobs

jobs.sample_prompts(
    dataset=snakemake.wildcards.dataset,
    source=snakemake.params.source,
    requests=snakemake.params.requests,
    seed=snakemake.params.seed,
    prompts_path=snakemake.output.prompts,
    log_path=snakemake.log[0],
)
