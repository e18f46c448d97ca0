from vidcarbon.energy import jobs
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    jobs.idle_baseline(
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        duration_s=snakemake.params.duration_s,
        record_path=snakemake.output.record,
    )
