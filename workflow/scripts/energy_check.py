from vidcarbon import jobs

jobs.energy_check(
    measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
    load=snakemake.params.load,
    idle_record_path=snakemake.input.idle,
    record_path=snakemake.output.record,
    log_path=snakemake.log[0],
)
