from vidcarbon.llm.collect import collect_images

collect_images(
    image_records=snakemake.input.images,
    idle_records=snakemake.input.idle,
    images_path=snakemake.output.images,
    config_hash=snakemake.params.config_hash,
)
