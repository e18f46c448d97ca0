from vidcarbon.carbon.pipeline import run_carbon
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    run_carbon(
        runs_path=snakemake.input.runs,
        outputs=dict(snakemake.output.items()),
        settings=snakemake.params.settings,
        config_hash=snakemake.params.config_hash,
    )
