"""Full-size random weights are built where they run, and Llama-2-13B's architecture ships with
the project (random weights without a download). The meta device stands in for the GPU: a
parameter that lands anywhere else was built on the host first."""

from __future__ import annotations

import pytest
import torch

from vidcarbon.backends import create_backend
from vidcarbon.errors import ConfigError
from vidcarbon.workloads.measured import Measurement
from vidcarbon.workloads.text.measured import run_requests
from vidcarbon.workloads.text.models import (
    LlmSpec,
    build_random,
    check_spec,
    embedded_config,
    fetch_weights,
)

LLAMA = "meta-llama/Llama-2-13b-hf"
TINY_LLAMA = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "vocab_size": 256,
}


def test_llama_2_13b_is_built_at_full_size_on_the_target_device():
    from vidcarbon.backends.tiny_parts import build_tokenizer

    config = embedded_config(LlmSpec(model=LLAMA, weights="random"), build_tokenizer())
    model = build_random(config, torch.bfloat16, "meta", seed=0)
    params = list(model.parameters())
    assert {p.device.type for p in params} == {"meta"}
    assert {p.dtype for p in params} == {torch.bfloat16}
    assert sum(p.numel() for p in params) == 13_015_864_320  # 13.0 B, Llama 2's "13B"
    assert model.config.max_position_embeddings == 4096


def test_wan_is_built_at_full_size_on_the_target_device():
    backend = create_backend(
        "diffusers", {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "weights": "random"}
    )
    backend.load("meta", phases=("denoise", "decode"))
    modules = (backend.pipe.transformer, backend.pipe.vae)
    assert {p.device.type for m in modules for p in m.parameters()} == {"meta"}
    info = backend.describe()
    assert info["params_transformer"] == 1_418_996_800 and info["params_text_encoder"] is None


def test_embedded_llama_answers_offline_with_its_architecture_overridden(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = {"model": LLAMA, "weights": "random", "architecture": TINY_LLAMA}
    prompt = {"prompt_id": "p1", "dataset": "mmlu", "text": "Question: 2 + 2?\nAnswer:"}
    record = run_requests(spec, [prompt], {"mmlu": 6}, 512, 1, 2, Measurement())
    assert record["status"] == "ok", record["error"]
    (request,) = record["requests"]
    assert request["output_tokens"] == 6 and request["length_policy"] == "target"
    assert record["model_info"]["context_tokens"] == 4096  # Llama 2's, not llama-tiny's
    assert fetch_weights(LlmSpec(**spec))["source"] == "none"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            {"model": LLAMA, "weights": "pretrained", "architecture": {"num_hidden_layers": 2}},
            ["llm.models.big.architecture", "weights: random"],
        ),
        (
            {"model": "llama-tiny", "architecture": {"num_hidden_layers": 2}},
            ["hidden_size and layers"],
        ),
        (
            {"model": LLAMA, "weights": "random", "architecture": {"num_layers": 2}},
            ["unknown parameter(s) num_layers", "num_hidden_layers"],
        ),
    ],
)
def test_architecture_overrides_that_cannot_apply_are_config_errors(spec, words):
    with pytest.raises(ConfigError) as error:
        check_spec("big", spec)
    assert all(word in str(error.value) for word in words), str(error.value)
