from vidcarbon.analysis.chart_specs import CHART_SPECS
from vidcarbon.analysis.efficiency import gpu_peaks
from vidcarbon.carbon.embodied import source_table
from vidcarbon.defaults import RQ1_DEVICE
from vidcarbon.backends import random_weights

# The embodied sources of the paper's GPU, for RQ1 at its setting (findings, the RQ1 chart).
RQ1_SOURCES = source_table(RQ1_DEVICE, vc.load_hardware(config["hardware"]))


rule count_flops:
    output:
        flops="results/flops.parquet",
    log:
        "logs/count_flops.log",
    conda:
        "../../envs/generate.yaml"
    resources:
        measured_device=1,  # runs the models on the device, so it must not run beside a meter
    params:
        models=config["models"],
        prompt=next(iter(PROMPTS.values())),
        shapes=sorted({(c.resolution, c.frames) for c in CELLS}),
        sizes=SIZES,
        device=config["device"],
        config_hash=vc.config_hash(
            config["models"],
            sorted({(c.resolution, c.frames) for c in CELLS}),
            config["device"],
        ),
    script:
        "../scripts/count_flops.py"


rule findings:
    input:
        unpack(findings_baselines),
        **optional_parallel(),
        runs=rules.collect.output.runs,
        carbon=rules.carbon.output.carbon,
        flops=rules.count_flops.output.flops,
        levers=rules.levers.output.levers,
    output:
        findings="results/findings.parquet",
        efficiency="results/efficiency.parquet",
        summary="results/findings.md",
        html=report(
            "results/findings.html",
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        "logs/findings.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        reference_resolution=config["analysis"]["reference_resolution"],
        scenario=config["analysis"]["scenario"],
        fidelity_floor_ssim=config["analysis"]["fidelity_floor_ssim"],
        gpu_peaks_tflops=gpu_peaks(vc.load_hardware(config["hardware"])),
        rq1_sources=RQ1_SOURCES,
        config_hash=vc.config_hash(
            config["analysis"]["reference_resolution"],
            RQ1_SOURCES,
            config["analysis"]["scenario"],
            config["analysis"]["fidelity_floor_ssim"],
        ),
    script:
        "../scripts/findings.py"


# What the charts read (each takes the entries its chart_specs.CHART_SPECS entry names).
CHART_INPUTS = {
    **optional_comparison(),
    "runs": rules.collect.output.runs,
    "quality": rules.collect_quality.output.quality,
    "carbon": rules.carbon.output.carbon,
    "carbon_by_time": rules.carbon.output.carbon_by_time,
    "deferral": rules.carbon.output.deferral,
    "credits": rules.carbon.output.credits,
    "traces": rules.collect.output.traces,
    "idle": rules.collect.input.idle,
    "levers": rules.levers.output.levers,
    **optional_parallel(),
}
CHART_SETTINGS = {
    "reference_resolution": config["analysis"]["reference_resolution"],
    "scenario": config["analysis"]["scenario"],
    "trace_cell": config["analysis"]["trace_cell"],
    "random_weight_models": [
        name for name, entry in config["models"].items() if random_weights(entry)
    ],
    "comparison_scenario": next(iter(COMPARISON["intensities_g_per_kwh"])),
    "fidelity_floor_ssim": config["analysis"]["fidelity_floor_ssim"],
    "rq1_sources": RQ1_SOURCES,
}


# The charts whose tables the config makes (the parallel chart only with layouts).
CHARTS = {
    chart: spec
    for chart, spec in CHART_SPECS.items()
    if set(spec.inputs) <= CHART_INPUTS.keys()
}


# One job per chart: a chart that fails loses no other, and a table or setting that changes
# redraws only the charts that read it.
for chart, spec in CHARTS.items():

    rule:
        name:
            f"chart_{chart}"
        input:
            **{
                name: CHART_INPUTS[name]
                for name in (*spec.inputs, *spec.optional)
                if name in CHART_INPUTS
            },
        output:
            png=report(
                f"results/charts/{chart}.png",
                caption=f"../report/{chart}.rst",
                category=spec.category,
                labels={"chart": chart, "format": "image (PNG)"},
            ),
            html=report(
                f"results/charts/{chart}.html",
                caption=f"../report/{chart}.rst",
                category=spec.category,
                labels={"chart": chart, "format": "interactive (HTML)"},
            ),
        log:
            f"logs/charts/{chart}.log",
        localrule: True
        conda:
            "../../envs/analysis.yaml"
        params:
            chart=chart,
            settings={name: CHART_SETTINGS[name] for name in spec.params},
        script:
            "../scripts/chart.py"
