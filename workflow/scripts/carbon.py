import logging

from vidcarbon.carbon.pipeline import run_carbon

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, force=True)
run_carbon(
    runs_path=snakemake.input.runs,
    outputs=dict(snakemake.output.items()),
    settings=snakemake.params.settings,
    config_hash=snakemake.params.config_hash,
)
