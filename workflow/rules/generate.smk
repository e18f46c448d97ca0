# On the submitting host (compute nodes have no internet): the files each model reads, into
# the Hugging Face cache; the jobs below read them offline. A record says what was fetched.
rule fetch_weights:
    output:
        record="results/weights/{model}.json",
    log:
        "logs/fetch_weights/{model}.log",
    localrule: True
    conda:
        "../../envs/generate.yaml"
    params:
        backend=model_param("backend"),
        options=model_param("options"),
    script:
        "../scripts/fetch_weights.py"


rule encode_prompt:
    input:
        weights=rules.fetch_weights.output.record,
    output:
        embeddings="results/encode/{model}/{prompt}.pt",
        record="results/encode/{model}/{prompt}.json",
    log:
        "logs/encode_prompt/{model}/{prompt}.log",
    conda:
        generation_env()
    threads: measured_threads()
    resources:
        measured_device=1,
        attempt=lambda wildcards, attempt: attempt,
    params:
        prompt=lambda wildcards: PROMPTS[wildcards.prompt],
        backend=model_param("backend"),
        options=model_param("options"),
        warmup_steps=config["measurement"]["warmup_steps"],
        measurement=measurement_params(),
    script:
        "../scripts/encode_prompt.py"


# A cell on one device (its id has no layout part). Cells on several devices are the rule
# generate_parallel below: their own resources (N GPUs in one SLURM job) and group.
rule generate:
    input:
        embeddings=rules.encode_prompt.output.embeddings,
        encode_record=rules.encode_prompt.output.record,
        weights=rules.fetch_weights.output.record,
    output:
        video=f"results/videos/{CELL}.mp4",
        record=f"results/cells/{CELL}.json",
    log:
        f"logs/generate/{CELL}.log",
    wildcard_constraints:
        parallel="(?:)",
    conda:
        generation_env()
    threads: measured_threads()
    resources:
        measured_device=1,
        attempt=lambda wildcards, attempt: attempt,
    params:
        backend=model_param("backend"),
        options=cell_options,
        lever=cell_lever,
        size=cell_size,
        fps=config["fps"],
        warmup_steps=config["measurement"]["warmup_steps"],
        measurement=measurement_params(),
    script:
        "../scripts/generate.py"


# A cell on N = ulysses x ring devices (ids ending _g<N>u<U>r<R>; docs/parallel.md): N ranks,
# one process each, started by torch's launcher inside this one job.
use rule generate as generate_parallel with:
    wildcard_constraints:
        parallel=WILDCARD_CONSTRAINTS["parallel"].removeprefix("(").removesuffix(")?"),
    threads: lambda wildcards: cell_gpus(wildcards) * measured_threads()
