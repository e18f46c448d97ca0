from vidcarbon.logs import logged
from vidcarbon.quality.weights import fetch_vbench_weights_job

with logged(snakemake.log[0]):
    fetch_vbench_weights_job(
        cache_dir=snakemake.params.cache_dir,
        dimensions=snakemake.params.dimensions,
        record_path=snakemake.output.record,
    )
