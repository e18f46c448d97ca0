rule encode_prompt:
    output:
        embeddings="results/encode/{model}/{prompt}.pt",
        record="results/encode/{model}/{prompt}.json",
    log:
        "logs/encode_prompt/{model}/{prompt}.log",
    conda:
        "../../envs/generate.yaml"
    params:
        prompt=lambda wildcards: PROMPTS[wildcards.prompt],
        backend=model_param("backend"),
        options=model_param("options"),
        measurement=measurement_params(),
    script:
        "../scripts/encode_prompt.py"


rule generate:
    input:
        embeddings=rules.encode_prompt.output.embeddings,
        encode_record=rules.encode_prompt.output.record,
    output:
        video=f"results/videos/{CELL}.mp4",
        record=f"results/cells/{CELL}.json",
    log:
        f"logs/generate/{CELL}.log",
    conda:
        "../../envs/generate.yaml"
    params:
        backend=model_param("backend"),
        options=model_param("options"),
        fps=config["fps"],
        warmup_steps=config["measurement"]["warmup_steps"],
        measurement=measurement_params(),
    script:
        "../scripts/generate.py"
