from vidcarbon.energy import jobs
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    jobs.energy_check(
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        load=snakemake.params.load,
        idle_record_path=snakemake.input.idle,
        record_path=snakemake.output.record,
    )
