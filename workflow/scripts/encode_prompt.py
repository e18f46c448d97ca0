from vidcarbon.logs import logged
from vidcarbon.workloads.video import jobs

with logged(snakemake.log[0]):
    jobs.encode_prompt(
        model=snakemake.wildcards.model,
        prompt_id=snakemake.wildcards.prompt,
        prompt=snakemake.params.prompt,
        backend=snakemake.params.backend,
        options=snakemake.params.options,
        warmup_steps=snakemake.params.warmup_steps,
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        embeddings_path=snakemake.output.embeddings,
        record_path=snakemake.output.record,
        log_path=snakemake.log[0],
        attempt=snakemake.resources.attempt,
    )
