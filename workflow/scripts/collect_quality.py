from vidcarbon.logs import logged
from vidcarbon.quality.collect import collect_quality

with logged(snakemake.log[0]):
    collect_quality(
        batches=snakemake.input.batches,
        quality_path=snakemake.output.quality,
        config_hash=snakemake.params.config_hash,
    )
