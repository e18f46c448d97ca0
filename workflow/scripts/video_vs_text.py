from vidcarbon.analysis.video_vs_text import write_comparison
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    write_comparison(
        runs_path=snakemake.input.runs,
        llm_path=snakemake.input.get("llm"),
        images_path=snakemake.input.get("images"),
        out_path=snakemake.output.table,
        scenarios=[tuple(s) for s in snakemake.params.scenarios],
        pue=snakemake.params.pue,
        reference_llm=snakemake.params.reference_llm,
        config_hash=snakemake.params.config_hash,
    )
