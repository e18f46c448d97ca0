from vidcarbon.carbon.settings import carbon_settings

# Checked when the Snakefile is parsed: a bad value stops the run before any output is replaced.
CARBON = carbon_settings(config)


rule carbon:
    input:
        runs=rules.collect.output.runs,
        series=CARBON.series_paths,
    output:
        carbon="results/carbon.parquet",
        carbon_by_time="results/carbon_by_time.parquet",
        deferral="results/deferral.parquet",
        credits="results/credits.parquet",
        credit_fits="results/credit_fits.parquet",
    log:
        "logs/carbon.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        settings=CARBON.as_params(),
        config_hash=vc.config_hash(CARBON.as_params()),
    script:
        "../scripts/carbon.py"
