# Each cell on several devices beside its one-device cell: latency, energy and carbon of one
# video, and the energy each halving of latency costs (docs/parallel.md). Planned only where the
# config has layouts (`parallel:`): rule all, the findings and the parallel chart ask for it
# through optional_parallel() (rules/common.smk).
rule parallel:
    input:
        runs=rules.collect.output.runs,
        carbon=rules.carbon.output.carbon,
    output:
        parallel="results/parallel.parquet",
    log:
        "logs/parallel.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        config_hash=vc.config_hash(config.get("parallel")),
    script:
        "../scripts/parallel.py"
