from vidcarbon.logs import logged
from vidcarbon.workloads.text import jobs

with logged(snakemake.log[0]):
    jobs.sample_prompts(
        dataset=snakemake.wildcards.dataset,
        source=snakemake.params.source,
        requests=snakemake.params.requests,
        seed=snakemake.params.seed,
        prompts_path=snakemake.output.prompts,
    )
