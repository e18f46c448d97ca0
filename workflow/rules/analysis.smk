CHARTS = ["rq3_phase_shares", "rq5_resolution", "rq5_duration", "power_trace"]


rule charts:
    input:
        runs=rules.collect.output.runs,
        traces=rules.collect.output.traces,
        idle=rules.collect.input.idle,
    output:
        expand("results/charts/{chart}.{ext}", chart=CHARTS, ext=["html", "png"]),
    log:
        "logs/charts.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        reference_resolution=config["analysis"]["reference_resolution"],
        trace_cell=config["analysis"]["trace_cell"],
    script:
        "../scripts/charts.py"
