# Values and input functions of the text and image baselines and the comparison
# (llm.smk, image.smk, compare.smk).
from vidcarbon.workloads.text.datasets import DATASETS, source_file


wildcard_constraints:
    llm=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    dataset="|".join(DATASETS),
    shard=r"[0-9]+",


LLM = config.get("llm")


def llm_request_records():
    if not LLM:
        return []
    return [
        f"results/llm/requests/{name}/{dataset}/shard{shard}.json"
        for name in LLM["models"]
        for dataset in LLM["datasets"]
        for shard in range(LLM["shards"])
    ]


def dataset_rows(wildcards):
    """The local rows file of a dataset, so editing it resamples (none for the hub)."""
    path = source_file(wildcards.dataset, LLM["source"])
    return [] if path is None else [str(path)]


IMAGE = config.get("image")
IMAGE_STEM = "{model}/{prompt}/{resolution}_s{steps}_seed{seed}"


def image_records():
    if not IMAGE:
        return []
    return [
        f"results/image_records/{model}/{prompt}/{res}_s{steps}_seed{seed}.json"
        for model in IMAGE["models"]
        for prompt in PROMPTS
        for res in IMAGE["resolutions"]
        for steps in IMAGE["steps"]
        for seed in IMAGE["seeds"]
    ]


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


def optional_comparison():
    """The video-vs-text table, where the config has text or image baselines."""
    return {"comparison": "results/video_vs_text.parquet"} if (LLM or IMAGE) else {}


def findings_baselines(wildcards):
    """The video-vs-text table and the text requests, where the config has baselines."""
    inputs = optional_comparison()
    if LLM:
        inputs["llm"] = rules.collect_llm.output.llm
    return inputs
