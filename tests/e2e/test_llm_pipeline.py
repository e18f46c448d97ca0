"""Real Snakemake runs of the text and image baselines and the video vs text comparison."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import small_config
from tests.e2e.test_pipeline import job_counts
from vidcarbon.tables import read_table

pytestmark = pytest.mark.e2e


def llm_config(source: str = "parquet") -> dict:
    config = small_config()
    config["llm"] = {
        "models": {"llama-tiny": {"model": "llama-tiny", "context_tokens": 64}},
        "datasets": ["nq_open", "alpaca"],
        "source": source,
        "requests_per_dataset": 3,
        "shards": 2,
        "batch_size": 1,
        "warmup_tokens": 2,
        "output_tokens": {"target": {"nq_open": 6, "alpaca": 4}},
    }
    config["image"] = {
        "models": {"pixart-tiny": {"backend": "pixart-tiny"}},
        "resolutions": ["144p"],
        "steps": [2],
    }
    config["comparison"] = {"intensities_g_per_kwh": {"paper-100g": 100, "coal": 820}}
    return config


def test_llm_and_image_baselines_end_to_end(workdir):
    source = workdir.path / "parquet"
    source.mkdir()
    pq.write_table(
        pa.table({"question": ["who is a", "what is b", "where is c", "when is d"]}),
        source / "nq_open.parquet",
    )
    # Alpaca prompts in the template are longer than llama-tiny's 64-token context here.
    pq.write_table(
        pa.table({"instruction": ["Explain x.", "List y.", "Rank z."], "input": ["", "", ""]}),
        source / "alpaca.parquet",
    )
    workdir.write_config(llm_config(str(source)))
    workdir.write_prompts(["a lighthouse in fog"])
    counts = job_counts(workdir.snakemake("-n").stdout)
    assert {k: counts[k] for k in ("llm_prompts", "llm_weights", "llm_request")} == {
        "llm_prompts": 2,
        "llm_weights": 1,
        "llm_request": 2 * 2,
    }
    assert counts["generate_image"] == 1 and counts["video_vs_text"] == 1
    workdir.snakemake()
    results = workdir.path / "results"

    llm = read_table("llm", results / "llm.parquet").to_pandas()
    assert len(llm) == 3 + 3 and sorted(llm.shard.unique()) == [0, 1]
    nq = llm[llm.dataset == "nq_open"]
    assert set(nq.status) == {"ok"} and (nq.output_tokens == 6).all()
    assert (nq.length_policy == "target").all() and (nq.batch_size == 1).all()
    assert np.allclose(nq.energy_j, nq.prefill_energy_j + nq.decode_energy_j)
    assert (nq.prefill_duration_s > 0).all() and (nq.decode_duration_s > 0).all()
    alpaca = llm[llm.dataset == "alpaca"]
    assert set(alpaca.status) == {"failed"}
    assert alpaca.error.str.contains("exceeds the model's context of 64 tokens").all()

    images = read_table("images", results / "images.parquet").to_pandas()
    assert len(images) == 1 and images.status.iloc[0] == "ok"
    assert images.denoise_energy_j.iloc[0] > 0 and images.height.iloc[0] == 144

    cmp = read_table("video_vs_text", results / "video_vs_text.parquet").to_pandas()
    # the comparison's own intensities, then every carbon scenario not named there
    carbon = read_table("carbon", results / "carbon.parquet").to_pandas()
    assert set(cmp.scenario) == {"paper-100g", "coal"} | set(carbon.scenario)
    assert cmp[cmp.scenario == "coal"].intensity_g_per_kwh.unique().tolist() == [820.0]
    assert set(cmp.modality) == {"text", "image", "video"}
    text = cmp[(cmp.modality == "text") & (cmp.group == "all") & (cmp.scenario == "coal")]
    assert text.requests.iloc[0] == 3 and text.request_ratio_vs_text.iloc[0] == 1.0
    expected = text.energy_per_request_j.iloc[0] / 3.6e6 * 1.2 * 820
    assert text.carbon_per_request_g.iloc[0] == pytest.approx(expected)
    runs = read_table("runs", results / "runs.parquet").to_pandas()
    video = cmp[(cmp.modality == "video") & (cmp.scenario == "paper-100g")]
    assert video.requests.sum() == (runs.status == "ok").sum()

    # a comparison-only change reruns the comparison and what reads it, no measured job
    config = llm_config(str(source))
    config["comparison"]["intensities_g_per_kwh"]["coal"] = 900
    workdir.write_config(config)
    planned = job_counts(workdir.snakemake("-n").stdout)
    assert planned == {
        "video_vs_text": 1,
        "chart_rq2_video_vs_text": 1,
        "findings": 1,
        "all": 1,
    }


def test_unknown_dataset_fails_before_any_job(workdir):
    config = llm_config()
    config["llm"]["datasets"] = ["nq_open", "squad"]
    workdir.write_config(config)
    workdir.write_prompts(["a fox"])
    proc = workdir.snakemake(check=False)
    assert proc.returncode != 0
    assert "config key 'llm.datasets[1]': 'squad' is not allowed; allowed: alpaca" in proc.stderr
    assert not (workdir.path / "results").exists()
