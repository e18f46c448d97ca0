# Each lever cell beside its baseline cell: energy, time and carbon saved, and the fidelity
# of its video to the baseline's (docs/levers.md). Without levers the table is empty.
rule levers:
    input:
        runs=rules.collect.output.runs,
        carbon=rules.carbon.output.carbon,
        videos=lever_videos(),
    output:
        levers="results/levers.parquet",
    log:
        "logs/levers.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        kinds={name: ",".join(lever.kinds()) for name, lever in LEVERS.items()},
        config_hash=vc.config_hash(config.get("levers")),
    script:
        "../scripts/levers.py"
