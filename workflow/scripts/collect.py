from vidcarbon.logs import logged
from vidcarbon.workloads.video.table import collect

with logged(snakemake.log[0]):
    collect(
        generate_records=snakemake.input.generate,
        encode_records=snakemake.input.encode,
        idle_records=snakemake.input.idle,
        runs_path=snakemake.output.runs,
        steps_path=snakemake.output.steps,
        traces_path=snakemake.output.traces,
        ranks_path=snakemake.output.ranks,
        config_hash=snakemake.params.config_hash,
        cache_dir=snakemake.params.cache_dir,
    )
