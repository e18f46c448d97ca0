from vidcarbon.jobs import setup_logging
from vidcarbon.quality.weights import fetch_vbench_weights_job

setup_logging(snakemake.log[0])
fetch_vbench_weights_job(
    cache_dir=snakemake.params.cache_dir,
    dimensions=snakemake.params.dimensions,
    record_path=snakemake.output.record,
)
