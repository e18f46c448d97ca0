from vidcarbon.flops import write_flops
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    write_flops(
        models=snakemake.params.models,
        prompt=snakemake.params.prompt,
        shapes=snakemake.params.shapes,
        sizes=snakemake.params.sizes,
        device=snakemake.params.device,
        flops_path=snakemake.output.flops,
        config_hash=snakemake.params.config_hash,
    )
