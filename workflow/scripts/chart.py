from vidcarbon.analysis.charts import render_chart
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    render_chart(
        name=snakemake.params.chart,
        inputs=dict(snakemake.input.items()),
        params=snakemake.params.settings,
        stem=snakemake.output.png,
    )
