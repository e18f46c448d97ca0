from vidcarbon.logs import logged
from vidcarbon.workloads.rows import collect_table
from vidcarbon.workloads.text.table import request_rows

with logged(snakemake.log[0]):
    collect_table(
        name="llm",
        records=snakemake.input.requests,
        idle_records=snakemake.input.idle,
        rows_of=request_rows,
        path=snakemake.output.llm,
        config_hash=snakemake.params.config_hash,
    )
