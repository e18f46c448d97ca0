from vidcarbon.analysis.efficiency import gpu_peaks
from vidcarbon.backends import random_weights

CHARTS = [
    "rq2_video_vs_text",
    "rq4_steps_carbon_quality",
    "rq1_energy_sources",
    "rq3_phase_shares",
    "rq5_resolution",
    "rq5_duration",
    "power_trace",
    "carbon_credits",
    "carbon_by_time",
]
CATEGORY = {
    "rq2_video_vs_text": "RQ2 video vs text",
    "rq4_steps_carbon_quality": "RQ4 steps, carbon and quality",
    "rq1_energy_sources": "RQ1 embodied and operational carbon",
    "rq3_phase_shares": "RQ3 phases",
    "rq5_resolution": "RQ5 resolution and duration",
    "rq5_duration": "RQ5 resolution and duration",
    "power_trace": "Power signature",
    "carbon_credits": "Carbon-aware operation",
    "carbon_by_time": "Carbon-aware operation",
}


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
        runs=rules.collect.output.runs,
        carbon=rules.carbon.output.carbon,
        flops=rules.count_flops.output.flops,
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
        gpu_peaks_tflops=gpu_peaks(vc.load_hardware(config["hardware"])),
        config_hash=vc.config_hash(config["analysis"]["reference_resolution"]),
    script:
        "../scripts/findings.py"


rule charts:
    input:
        unpack(lambda wildcards: optional_comparison()),
        runs=rules.collect.output.runs,
        quality=rules.collect_quality.output.quality,
        carbon=rules.carbon.output.carbon,
        carbon_by_time=rules.carbon.output.carbon_by_time,
        deferral=rules.carbon.output.deferral,
        credits=rules.carbon.output.credits,
        traces=rules.collect.output.traces,
        idle=rules.collect.input.idle,
    output:
        [
            report(
                f"results/charts/{chart}.png",
                caption=f"../report/{chart}.rst",
                category=CATEGORY[chart],
                labels={"chart": chart, "format": "image (PNG)"},
            )
            for chart in CHARTS
        ],
        [
            report(
                f"results/charts/{chart}.html",
                caption=f"../report/{chart}.rst",
                category=CATEGORY[chart],
                labels={"chart": chart, "format": "interactive (HTML)"},
            )
            for chart in CHARTS
        ],
    log:
        "logs/charts.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        reference_resolution=config["analysis"]["reference_resolution"],
        scenario=config["analysis"]["scenario"],
        trace_cell=config["analysis"]["trace_cell"],
        random_weight_models=[
            name for name, entry in config["models"].items() if random_weights(entry)
        ],
    script:
        "../scripts/charts.py"
