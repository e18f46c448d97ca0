from vidcarbon.logs import logged
from vidcarbon.workloads.image.table import collect_images

with logged(snakemake.log[0]):
    collect_images(
        image_records=snakemake.input.images,
        idle_records=snakemake.input.idle,
        images_path=snakemake.output.images,
        config_hash=snakemake.params.config_hash,
    )
