# Video vs image vs text per request and per unit, at each carbon-intensity scenario.
from vidcarbon.analysis.video_vs_text import comparison_scenarios


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
        # the paper's 100 g/kWh (comparison.intensities_g_per_kwh), then every carbon scenario
        scenarios=comparison_scenarios(
            COMPARISON["intensities_g_per_kwh"], CARBON.scenarios
        ),
        pue=CARBON.assumptions["pue"],
        reference_llm=COMPARISON.get("reference_llm"),
        config_hash=vc.config_hash(
            COMPARISON, CARBON.scenarios, CARBON.assumptions["pue"]
        ),
    script:
        "../scripts/video_vs_text.py"
