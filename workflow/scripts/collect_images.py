from vidcarbon.logs import logged
from vidcarbon.workloads.image.table import image_rows
from vidcarbon.workloads.rows import collect_table

with logged(snakemake.log[0]):
    collect_table(
        name="images",
        records=snakemake.input.images,
        idle_records=snakemake.input.idle,
        rows_of=image_rows,
        path=snakemake.output.images,
        config_hash=snakemake.params.config_hash,
    )
