from vidcarbon.grid import Cell, parse_parallel
from vidcarbon.logs import logged
from vidcarbon.workloads.video import jobs

wc = snakemake.wildcards
cell = Cell(
    wc.model,
    wc.prompt,
    wc.resolution,
    int(wc.frames),
    int(wc.steps),
    int(wc.seed),
    tuple(snakemake.params.size),
    wc.lever,
    **parse_parallel(wc.parallel),
)
with logged(snakemake.log[0]):
    jobs.generate(
        cell=cell,
        backend=snakemake.params.backend,
        options=snakemake.params.options,
        lever=snakemake.params.lever,
        fps=snakemake.params.fps,
        warmup_steps=snakemake.params.warmup_steps,
        # the job's threads are shared by its ranks, one process per device
        measurement=dict(
            snakemake.params.measurement, threads=max(1, snakemake.threads // cell.gpus)
        ),
        embeddings_path=snakemake.input.embeddings,
        encode_record_path=snakemake.input.encode_record,
        video_path=snakemake.output.video,
        record_path=snakemake.output.record,
        log_path=snakemake.log[0],
        attempt=snakemake.resources.attempt,
    )
