"""A real Snakemake run with `diffusers` models: a tiny Wan2.1 with random weights, and a tiny
Latte-1 with "pretrained" weights read offline from a Hugging Face cache by hub id."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cache_snapshot, small_config
from tests.test_diffusers_video import LATTE, TINY, WAN
from vidcarbon.backends import create_backend
from vidcarbon.tables import read_table
from vidcarbon.video import read_mp4

pytestmark = pytest.mark.e2e


def cache_tiny_latte(cache, repo: str) -> str:
    """Save a tiny random Latte-1 (5 frames) as the hub snapshot of `repo`."""
    architecture = {**TINY[LATTE], "transformer": {**TINY[LATTE]["transformer"], "video_length": 5}}
    options = {"model": LATTE, "weights": "random", "architecture": architecture}
    text, full = create_backend("diffusers", options), create_backend("diffusers", options)
    text.load("cpu", ("encode",))
    full.load("cpu", ("denoise", "decode"))
    full.pipe.register_modules(tokenizer=text.pipe.tokenizer, text_encoder=text.pipe.text_encoder)
    return cache_snapshot(cache, repo, full.pipe)


def test_diffusers_models_run_end_to_end(workdir):
    cache = workdir.path / "hf" / "hub"
    revision = cache_tiny_latte(cache, "test-org/tiny-latte")
    config = small_config()
    config["grid"]["durations_s"] = [0.625]  # 5 frames: Wan 4k+1, the tiny Latte's length
    config["models"] = {
        "wan-tiny": {
            "backend": "diffusers",
            "options": {"model": WAN, "weights": "random", "architecture": TINY[WAN]},
            "resolutions": {"144p": [64, 96]},  # its own size for the resolution name
        },
        "latte-cached": {"backend": "diffusers", "options": {"model": "test-org/tiny-latte"}},
    }
    workdir.write_config(config)
    workdir.write_prompts(["a lighthouse in a storm"])
    # HF_HUB_OFFLINE: here fetch_weights finds the snapshot in the cache instead of the hub
    workdir.snakemake(env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    results = workdir.path / "results"

    wan = json.loads((results / "weights" / "wan-tiny.json").read_text())
    assert wan["source"] == "none" and "embedded architecture" in wan["reason"]
    latte = json.loads((results / "weights" / "latte-cached.json").read_text())
    assert latte["source"] == "hub" and latte["revision"] == revision

    runs = read_table("runs", results / "runs.parquet").to_pandas().set_index("model")
    assert len(runs) == 4 and set(runs.status) == {"ok"} and set(runs.backend) == {"diffusers"}
    assert set(runs.loc["wan-tiny"].attention) == {"sdpa (WanAttnProcessor)"}
    assert set(runs.loc["latte-cached"].attention) == {"sdpa (AttnProcessor2_0)"}
    assert (runs.loc["wan-tiny"].height == 64).all() and (runs.loc["wan-tiny"].width == 96).all()
    assert (runs.loc["latte-cached"].height == 144).all() and (runs.frames == 5).all()
    assert (runs.denoise_energy_j > 0).all() and (runs.warmup_duration_s > 0).all()
    for model, path in zip(runs.index, runs.video_path, strict=True):
        size = (64, 96) if model == "wan-tiny" else (144, 256)
        assert read_mp4(workdir.path / path).shape == (5, *size, 3)
    steps = read_table("steps", results / "steps.parquet").to_pandas()
    assert len(steps) == 2 * (1 + 2)
    flops = read_table("flops", results / "flops.parquet").to_pandas()
    assert sorted(flops.model) == ["latte-cached", "wan-tiny"]
    assert (flops.denoise_step_flops > 0).all() and (flops.decode_flops > 0).all()
