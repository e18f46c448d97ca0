from vidcarbon.analysis.levers import write_levers
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    write_levers(
        runs_path=snakemake.input.runs,
        carbon_path=snakemake.input.carbon,
        kinds=snakemake.params.kinds,
        out_path=snakemake.output.levers,
        config_hash=snakemake.params.config_hash,
    )
