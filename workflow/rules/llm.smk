# The text baseline (paper RQ2): sample prompts, fetch weights, answer them per shard, collect.


rule llm_prompts:
    input:
        rows=dataset_rows,
    output:
        prompts="results/llm/prompts/{dataset}.json",
    log:
        "logs/llm_prompts/{dataset}.log",
    localrule: True
    conda:
        "../../envs/llm.yaml"
    params:
        source=lambda wildcards: LLM["source"],
        requests=lambda wildcards: LLM["requests_per_dataset"],
        seed=lambda wildcards: LLM["seed"],
    script:
        "../scripts/llm_prompts.py"


rule llm_weights:
    output:
        record="results/llm/weights/{llm}.json",
    log:
        "logs/llm_weights/{llm}.log",
    localrule: True
    conda:
        "../../envs/llm.yaml"
    params:
        spec=lambda wildcards: LLM["models"][wildcards.llm],
    script:
        "../scripts/llm_weights.py"


rule llm_request:
    input:
        prompts=rules.llm_prompts.output.prompts,
        weights=rules.llm_weights.output.record,
    output:
        record="results/llm/requests/{llm}/{dataset}/shard{shard}.json",
    log:
        "logs/llm_request/{llm}/{dataset}/shard{shard}.log",
    conda:
        "../../envs/llm.yaml"
    threads: measured_threads()
    resources:
        measured_device=1,
        attempt=lambda wildcards, attempt: attempt,
    params:
        spec=lambda wildcards: LLM["models"][wildcards.llm],
        shards=lambda wildcards: LLM["shards"],
        target_tokens=lambda wildcards: LLM["output_tokens"]["target"][
            wildcards.dataset
        ],
        cap_tokens=lambda wildcards: LLM["output_tokens"]["cap"],
        batch_size=lambda wildcards: LLM["batch_size"],
        warmup_tokens=lambda wildcards: LLM["warmup_tokens"],
        measurement=measurement_params(),
    script:
        "../scripts/llm_request.py"


rule collect_llm:
    input:
        requests=llm_request_records(),
        idle=[f"results/idle/{config['device']}.json"],
    output:
        llm="results/llm.parquet",
    log:
        "logs/collect_llm.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        config_hash=vc.config_hash(config.get("llm"), config["device"]),
        study=study_param(),
    script:
        "../scripts/collect_llm.py"
