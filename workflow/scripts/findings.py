from pathlib import Path

import pandas as pd

from vidcarbon.analysis.efficiency import efficiency_markdown, phase_efficiency
from vidcarbon.analysis.findings import findings_rows, markdown_to_html, summary_markdown
from vidcarbon.analysis.shared_counters import note, without_cells, without_shared
from vidcarbon.tables import provenance, read_table, write_table

measured = read_table("runs", snakemake.input.runs).to_pandas()
runs, left_out = without_shared(measured)
carbon = without_cells(read_table("carbon", snakemake.input.carbon).to_pandas(), measured)
comparison = llm = None
if snakemake.input.get("comparison"):
    comparison = read_table("video_vs_text", snakemake.input.comparison).to_pandas()
if snakemake.input.get("llm"):
    llm = read_table("llm", snakemake.input.llm).to_pandas()
rows = findings_rows(
    runs, carbon, comparison, llm, reference_resolution=snakemake.params.reference_resolution
)
meta = provenance(snakemake.params.config_hash, sorted(set(runs.hostname.dropna())), [])
write_table("findings", rows, snakemake.output.findings, meta)
flops = read_table("flops", snakemake.input.flops).to_pandas()
efficiency = phase_efficiency(runs, flops, snakemake.params.gpu_peaks_tflops)
write_table("efficiency", efficiency.to_dict("records"), snakemake.output.efficiency, meta)
summary = summary_markdown(pd.DataFrame(rows), runs) + "\n" + efficiency_markdown(efficiency)
if left_out:
    summary += "\n" + note(left_out) + "\n"
Path(snakemake.output.summary).write_text(summary)
Path(snakemake.output.html).write_text(markdown_to_html(summary))
