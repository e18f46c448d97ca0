from vidcarbon.flops import count_phase_flops
from vidcarbon.tables import provenance, write_table

rows = []
for model, spec in snakemake.params.models.items():
    rows += count_phase_flops(
        model,
        spec["backend"],
        spec["options"],
        snakemake.params.prompt,
        snakemake.params.shapes,
        sizes=snakemake.params.sizes[model],
        device=snakemake.params.device,
    )
write_table("flops", rows, snakemake.output.flops, provenance(snakemake.params.config_hash, [], []))
