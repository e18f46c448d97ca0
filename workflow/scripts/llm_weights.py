from vidcarbon.logs import logged
from vidcarbon.workloads.text import jobs

with logged(snakemake.log[0]):
    jobs.fetch_weights(spec=snakemake.params.spec, record_path=snakemake.output.record)
