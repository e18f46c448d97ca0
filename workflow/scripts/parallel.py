from vidcarbon.analysis.parallel import write_parallel
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    write_parallel(
        runs_path=snakemake.input.runs,
        carbon_path=snakemake.input.carbon,
        out_path=snakemake.output.parallel,
        config_hash=snakemake.params.config_hash,
    )
