# The image baseline: one text-to-image job per (model, prompt, resolution, steps, seed).


rule generate_image:
    output:
        image=f"results/images/{IMAGE_STEM}.png",
        record=f"results/image_records/{IMAGE_STEM}.json",
    log:
        f"logs/generate_image/{IMAGE_STEM}.log",
    conda:
        "../../envs/generate.yaml"
    threads: measured_threads()
    resources:
        measured_device=1,
        attempt=lambda wildcards, attempt: attempt,
    params:
        prompt=lambda wildcards: PROMPTS[wildcards.prompt],
        backend=lambda wildcards: IMAGE["models"][wildcards.model]["backend"],
        options=lambda wildcards: IMAGE["models"][wildcards.model]["options"],
        warmup_steps=config["measurement"]["warmup_steps"],
        measurement=measurement_params(),
    script:
        "../scripts/generate_image.py"


rule collect_images:
    input:
        images=image_records(),
        idle=[f"results/idle/{config['device']}.json"],
    output:
        images="results/images.parquet",
    log:
        "logs/collect_images.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        config_hash=vc.config_hash(config.get("image"), config["device"], PROMPTS),
        study=study_param(),
    script:
        "../scripts/collect_images.py"
