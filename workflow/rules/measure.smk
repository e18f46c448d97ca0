rule idle_baseline:
    output:
        record="results/idle/{device}.json",
    log:
        "logs/idle_baseline/{device}.log",
    conda:
        "../../envs/generate.yaml"
    threads: measured_threads()
    resources:
        measured_device=1,
    params:
        measurement=lambda wildcards: dict(
            measurement_params(), device=wildcards.device
        ),
        duration_s=config["measurement"]["idle_duration_s"],
    script:
        "../scripts/idle_baseline.py"
