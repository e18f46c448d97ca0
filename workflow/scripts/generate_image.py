from vidcarbon.logs import logged
from vidcarbon.workloads.image import jobs
from vidcarbon.workloads.image.spec import Image

wc = snakemake.wildcards
with logged(snakemake.log[0]):
    jobs.generate_image(
        image=Image(wc.model, wc.prompt, wc.resolution, int(wc.steps), int(wc.seed)),
        prompt=snakemake.params.prompt,
        backend=snakemake.params.backend,
        options=snakemake.params.options,
        warmup_steps=snakemake.params.warmup_steps,
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        image_path=snakemake.output.image,
        record_path=snakemake.output.record,
        log_path=snakemake.log[0],
        attempt=snakemake.resources.attempt,
    )
