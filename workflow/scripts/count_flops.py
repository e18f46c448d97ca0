from vidcarbon.flops import count_models_flops
from vidcarbon.jobs import setup_logging
from vidcarbon.tables import provenance, write_table

setup_logging(snakemake.log[0])
rows = count_models_flops(
    snakemake.params.models,
    snakemake.params.prompt,
    snakemake.params.shapes,
    snakemake.params.sizes,
    snakemake.params.device,
)
write_table("flops", rows, snakemake.output.flops, provenance(snakemake.params.config_hash, [], []))
