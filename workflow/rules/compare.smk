# Video vs image vs text per request and per unit, at each carbon-intensity scenario.
COMPARISON = config["comparison"]


def baseline_tables():
    """The text and image tables and the comparison, where llm or image is configured."""
    if not (LLM or IMAGE):
        return []
    return list(comparison_inputs().values())[1:] + ["results/video_vs_text.parquet"]


def comparison_inputs():
    inputs = {"runs": rules.collect.output.runs}
    if LLM:
        inputs["llm"] = rules.collect_llm.output.llm
    if IMAGE:
        inputs["images"] = rules.collect_images.output.images
    return inputs


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
