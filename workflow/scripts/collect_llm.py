from vidcarbon.logs import logged
from vidcarbon.workloads.text.table import collect_llm

with logged(snakemake.log[0]):
    collect_llm(
        request_records=snakemake.input.requests,
        idle_records=snakemake.input.idle,
        llm_path=snakemake.output.llm,
        config_hash=snakemake.params.config_hash,
    )
