from vidcarbon.logs import logged
from vidcarbon.workloads.image import jobs

wc = snakemake.wildcards
with logged(snakemake.log[0]):
    jobs.generate_image(
        model=wc.model,
        prompt_id=wc.prompt,
        prompt=snakemake.params.prompt,
        resolution=wc.resolution,
        steps=int(wc.steps),
        seed=int(wc.seed),
        backend=snakemake.params.backend,
        options=snakemake.params.options,
        warmup_steps=snakemake.params.warmup_steps,
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        image_path=snakemake.output.image,
        record_path=snakemake.output.record,
        log_path=snakemake.log[0],
        attempt=snakemake.resources.attempt,
    )
