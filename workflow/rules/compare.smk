# Video vs image vs text per request and per unit, at each carbon-intensity scenario.


rule video_vs_text:
    input:
        unpack(lambda wildcards: comparison_inputs()),
    output:
        table="results/video_vs_text.parquet",
    log:
        "logs/video_vs_text.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        # Hook for the carbon module: (scenario name, intensity g/kWh) pairs and the PUE.
        scenarios=list(COMPARISON["intensities_g_per_kwh"].items()),
        pue=COMPARISON["pue"],
        reference_llm=COMPARISON.get("reference_llm"),
        config_hash=vc.config_hash(COMPARISON),
    script:
        "../scripts/video_vs_text.py"
