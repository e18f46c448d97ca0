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


# One job per model and shape (vidcarbon.quality.batches): it scores only the videos whose
# stored score (results/quality/<cell>.json) is missing or older than the video or its records.
rule score_quality:
    input:
        unpack(quality_batch_inputs),
        weights=(
            ["results/vbench-weights.json"]
            if config["quality"]["vbench"]["enabled"]
            and config["quality"]["vbench"]["fetch"]
            else []
        ),
    output:
        batch=f"results/scoring/{QUALITY_BATCH}.json",
    log:
        f"logs/score_quality/{QUALITY_BATCH}.log",
    conda:
        "../../envs/quality.yaml"
    resources:
        # VBench runs networks on the device; the weight-free metrics are light CPU work, and
        # a SLURM job of them asks for no GPU. `scoring` (capped at 1 in slurm/profile.yaml)
        # runs the batches packed in one SLURM job one after another, on one CPU.
        measured_device=int(config["quality"]["vbench"]["enabled"]),
        gpu=int(config["quality"]["vbench"]["enabled"]),
        scoring=1,
    params:
        cells=lambda wildcards: [c.cell_id for c in batch_cells(wildcards)],
        scores_dir="results/quality",
        metrics=config["quality"]["metrics"],
        vbench=vbench_job_params(config["quality"]["vbench"], config["device"]),
    script:
        "../scripts/score_quality.py"


rule collect_quality:
    input:
        batches=expand("results/scoring/{batch}.json", batch=sorted(QUALITY_BATCHES)),
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
