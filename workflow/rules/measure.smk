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


# Not part of `all`: does the meter agree with the device's own energy counter under a fixed
# matrix-product load (benchmarks/gpu_check.sh runs it first)?
rule energy_check:
    input:
        idle=rules.idle_baseline.output.record,
    output:
        record="results/energy_check/{device}.json",
    log:
        "logs/energy_check/{device}.log",
    conda:
        "../../envs/generate.yaml"
    threads: measured_threads()
    resources:
        measured_device=1,
    params:
        measurement=lambda wildcards: dict(
            measurement_params(), device=wildcards.device
        ),
        load=config["measurement"]["energy_check"],
    script:
        "../scripts/energy_check.py"
