from vidcarbon.logs import logged
from vidcarbon.workloads.video import jobs

with logged(snakemake.log[0]):
    jobs.fetch_weights(
        backend=snakemake.params.backend,
        options=snakemake.params.options,
        record_path=snakemake.output.record,
    )
