from vidcarbon.logs import logged
from vidcarbon.quality.batches import score_batch

with logged(snakemake.log[0]):
    score_batch(
        cell_ids=snakemake.params.cells,
        videos=snakemake.input.videos,
        cell_records=snakemake.input.cell_records,
        encode_records=snakemake.input.encode_records,
        metrics=snakemake.params.metrics,
        vbench=snakemake.params.vbench,
        scores_dir=snakemake.params.scores_dir,
        batch_path=snakemake.output.batch,
    )
