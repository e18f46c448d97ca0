from vidcarbon.quality.scoring import vbench_job_params


# On the submitting host (it has internet; scoring jobs run offline). Only with vbench.enabled.
rule fetch_vbench_weights:
    output:
        record="results/vbench-weights.json",
    log:
        "logs/fetch_vbench_weights.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        cache_dir=config["quality"]["vbench"]["cache_dir"],
        dimensions=config["quality"]["vbench"]["dimensions"],
    script:
        "../scripts/fetch_vbench_weights.py"


rule score_quality:
    input:
        video=f"results/videos/{CELL}.mp4",
        cell_record=f"results/cells/{CELL}.json",
        encode_record="results/encode/{model}/{prompt}.json",
        weights=(
            ["results/vbench-weights.json"]
            if config["quality"]["vbench"]["enabled"]
            and config["quality"]["vbench"]["fetch"]
            else []
        ),
    output:
        record=f"results/quality/{CELL}.json",
    log:
        f"logs/score_quality/{CELL}.log",
    conda:
        "../../envs/quality.yaml"
    resources:
        # VBench runs networks on the device; the weight-free metrics are light CPU work
        measured_device=int(config["quality"]["vbench"]["enabled"]),
    params:
        metrics=config["quality"]["metrics"],
        vbench=vbench_job_params(config["quality"]["vbench"], config["device"]),
    script:
        "../scripts/score_quality.py"


rule collect_quality:
    input:
        records=[f"results/quality/{c.cell_id}.json" for c in CELLS],
    output:
        quality="results/quality.parquet",
    log:
        "logs/collect_quality.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        config_hash=vc.config_hash(config["quality"]),
        study=study_param(),
    script:
        "../scripts/collect_quality.py"
