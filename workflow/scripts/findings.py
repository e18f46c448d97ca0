from vidcarbon.analysis.findings import write_findings
from vidcarbon.logs import logged

with logged(snakemake.log[0]):
    write_findings(
        runs_path=snakemake.input.runs,
        carbon_path=snakemake.input.carbon,
        flops_path=snakemake.input.flops,
        comparison_path=snakemake.input.get("comparison"),
        llm_path=snakemake.input.get("llm"),
        levers_path=snakemake.input.levers,
        parallel_path=snakemake.input.get("parallel"),
        outputs=dict(snakemake.output.items()),
        reference_resolution=snakemake.params.reference_resolution,
        scenario=snakemake.params.scenario,
        fidelity_floor_ssim=snakemake.params.fidelity_floor_ssim,
        gpu_peaks_tflops=snakemake.params.gpu_peaks_tflops,
        config_hash=snakemake.params.config_hash,
        rq1_sources=snakemake.params.rq1_sources,
    )
