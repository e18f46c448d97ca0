from vidcarbon.grid import Cell
from vidcarbon.logs import logged
from vidcarbon.quality.scoring import score_cell

wc = snakemake.wildcards
with logged(snakemake.log[0]):
    score_cell(
        cell=Cell(wc.model, wc.prompt, wc.resolution, int(wc.frames), int(wc.steps), int(wc.seed)),
        video_path=snakemake.input.video,
        cell_record_path=snakemake.input.cell_record,
        encode_record_path=snakemake.input.encode_record,
        metrics=snakemake.params.metrics,
        vbench=snakemake.params.vbench,
        record_path=snakemake.output.record,
    )
