rule collect:
    input:
        generate=all_cell_records(),
        encode=all_encode_records(),
        idle=[f"results/idle/{config['device']}.json"],
    output:
        runs="results/runs.parquet",
        steps="results/steps.parquet",
        traces="results/traces.parquet",
        ranks="results/ranks.parquet",
    log:
        "logs/collect.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        config_hash=vc.config_hash(
            config["models"], config["grid"], config["fps"], config["device"], PROMPTS
        ),
        study=study_param(),
        # rows of unchanged records are read from here (vidcarbon.workloads.video.table)
        cache_dir="results/.collect_cache",
    script:
        "../scripts/collect.py"
