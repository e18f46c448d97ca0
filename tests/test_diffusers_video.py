"""The `diffusers` backend on tiny random-weight versions of Wan2.1, CogVideoX-2b and Latte-1,
their guidance and attention, option and shape errors, and pretrained loading from an offline
Hugging Face cache."""

import numpy as np
import pytest
import torch

from tests.conftest import cache_snapshot
from vidcarbon.backends import Backend, VideoShape, create_backend
from vidcarbon.backends.diffusers_spec import Layout, embedded_models, frame_rule
from vidcarbon.errors import BackendUnavailable, ConfigError

WAN, COGVIDEOX, LATTE = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "THUDM/CogVideoX-2b", "maxin-cn/Latte-1"
TEXT = {"vocab_size": 256, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4}
TINY = {
    WAN: {
        "transformer": {
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "text_dim": 32,
            "freq_dim": 32,
            "ffn_dim": 64,
            "num_layers": 2,
        },
        "vae": {"base_dim": 8},
        "text_encoder": TEXT,
    },
    COGVIDEOX: {
        "transformer": {
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "num_layers": 2,
            "text_embed_dim": 32,
            "time_embed_dim": 16,
        },
        "vae": {"block_out_channels": [8, 16, 16, 16], "norm_num_groups": 4, "layers_per_block": 1},
        "text_encoder": TEXT,
    },
    LATTE: {
        "transformer": {
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "num_layers": 2,
            "cross_attention_dim": 32,
            "caption_channels": 32,
            "video_length": 4,
        },
        "vae": {"block_out_channels": [8, 16, 16, 16], "norm_num_groups": 8, "layers_per_block": 1},
        "text_encoder": TEXT,
    },
}
# frame counts each can render: Wan 4k+1, CogVideoX 8k(+1), Latte its video_length
SHAPES = {
    WAN: VideoShape(5, 32, 48),
    COGVIDEOX: VideoShape(9, 32, 48),
    LATTE: VideoShape(4, 32, 48),
}
FAMILIES = list(TINY)


def tiny_options(model: str, **options) -> dict:
    return {"model": model, "weights": "random", "architecture": TINY[model], **options}


def loaded(model: str, phases, **options):
    backend = create_backend("diffusers", tiny_options(model, **options))
    backend.load("cpu", phases)
    return backend


@pytest.fixture(scope="module")
def built():
    """Per family: (embeddings of one prompt, a generator backend)."""
    out = {}
    for model in FAMILIES:
        embeddings = loaded(model, ("encode",)).encode("a heron wading, at dawn")
        out[model] = embeddings, loaded(model, ("denoise", "decode"))
    return out


def test_the_named_models_are_embedded():
    assert set(embedded_models()) == {WAN, COGVIDEOX, LATTE}


@pytest.mark.parametrize("model", FAMILIES)
def test_encode_denoise_decode(built, model):
    embeddings, backend = built[model]
    assert isinstance(backend, Backend)
    # Wan pads to 512 tokens, CogVideoX to 226; Latte keeps the prompt's tokens only
    tokens = {WAN: 512, COGVIDEOX: 226, LATTE: embeddings["text_tokens"]}[model]
    assert embeddings["prompt_embeds"].shape == (1, tokens, 32)
    assert embeddings["negative_prompt_embeds"].shape == embeddings["prompt_embeds"].shape
    assert 5 < embeddings["text_tokens"] < 120
    shape = SHAPES[model]
    seen = []
    latents = backend.denoise(embeddings, shape, steps=3, seed=0, on_step=seen.append)
    assert seen == [0, 1, 2]
    frames = backend.decode(latents, shape)
    assert frames.shape == (shape.frames, 32, 48, 3) and frames.dtype == np.uint8
    assert frames.std() > 0  # random weights, but not a blank video
    first = backend.decode(*backend.first_frame(latents, shape))
    assert first.shape == (1, 32, 48, 3)
    info = backend.describe()
    assert info["dtype"] == "float32" and info["weights"] == "random" and info["model"] == model
    assert info["params_transformer"] > 10_000 and info["params_text_encoder"] is None
    assert info["guidance_scale"] == {WAN: 5.0, COGVIDEOX: 6.0, LATTE: 7.5}[model]


@pytest.mark.parametrize("model", FAMILIES)
def test_weights_and_noise_are_seeded(built, model):
    embeddings, backend = built[model]
    other = loaded(model, ("denoise", "decode"))
    for a, b in zip(
        backend.pipe.transformer.parameters(), other.pipe.transformer.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    reseeded = loaded(model, ("denoise", "decode"), weights_seed=1)
    assert not torch.equal(
        next(backend.pipe.transformer.parameters()), next(reseeded.pipe.transformer.parameters())
    )
    shape = SHAPES[model]
    first = backend.denoise(embeddings, shape, steps=2, seed=3)
    assert torch.equal(first, other.denoise(embeddings, shape, steps=2, seed=3))
    assert not torch.equal(first, backend.denoise(embeddings, shape, steps=2, seed=4))


@pytest.mark.parametrize("model", FAMILIES)
@pytest.mark.parametrize("guidance", [4.0, 1.0])
def test_guidance_runs_the_unconditional_branch_only_when_on(model, guidance):
    embeddings = loaded(model, ("encode",), guidance_scale=guidance).encode("a red kite")
    assert ("negative_prompt_embeds" in embeddings) == (guidance > 1)
    backend = loaded(model, ("denoise",), guidance_scale=guidance)
    batches = []
    backend.pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: batches.append(kwargs["hidden_states"].shape[0]),
        with_kwargs=True,
    )
    backend.denoise(embeddings, SHAPES[model], steps=2, seed=0)
    if guidance <= 1:
        assert batches == [1, 1]
    elif model == WAN:  # WanPipeline: a conditional and an unconditional pass per step
        assert batches == [1, 1, 1, 1]
    else:  # Latte, CogVideoX: one pass on the doubled batch
        assert batches == [2, 2]


def test_wan_attention_runs_through_the_dispatcher(built, monkeypatch):
    from diffusers.models.attention_dispatch import AttentionBackendName, _AttentionBackendRegistry

    embeddings, backend = built[WAN]
    assert backend.describe()["attention"] == "sdpa (WanAttnProcessor)"  # auto on cpu
    native = _AttentionBackendRegistry._backends[AttentionBackendName.NATIVE]
    calls = []
    monkeypatch.setitem(
        _AttentionBackendRegistry._backends,
        AttentionBackendName.NATIVE,
        lambda **kwargs: calls.append(1) or native(**kwargs),
    )
    backend.denoise(embeddings, SHAPES[WAN], steps=1, seed=0)
    assert len(calls) == 2 * 2 * 2  # 2 blocks x (self + cross) x (cond + uncond)
    with pytest.raises(BackendUnavailable, match="flash-attn or xformers"):
        loaded(WAN, ("denoise",), attention="flash")


def test_flash_on_latte_forces_pytorch_flash_kernel(built):
    embeddings, _ = built[LATTE]
    backend = loaded(LATTE, ("denoise",), attention="flash")
    assert backend.describe()["attention"] == "sdpa-flash (AttnProcessor2_0)"
    latents = backend.denoise(embeddings, SHAPES[LATTE], steps=1, seed=0)
    assert torch.isfinite(latents).all()
    with pytest.raises(BackendUnavailable, match="no xformers version"):
        loaded(COGVIDEOX, ("denoise",), attention="xformers")


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"weights": "fp8"}, ["options.weights", "'fp8'", "pretrained, random"]),
        ({"attention": "sage"}, ["options.attention", "'sage'", "auto, sdpa, flash, xformers"]),
        ({"dtype": "int8"}, ["options.dtype", "'int8'", "bfloat16"]),
        ({"guidance_scale": "high"}, ["options.guidance_scale", "'high'", "a number"]),
        ({"steps": 50}, ["unknown option(s) steps", "allowed: model, weights"]),
        ({"model": "wan2.1"}, ["options.model", "'wan2.1'", "neither a local directory nor"]),
        ({"weights": "pretrained"}, ["options.architecture", "need", "weights: random"]),
        ({"architecture": {"unet": {}}}, ["options.architecture", "'unet'", "transformer, vae"]),
    ],
)
def test_bad_options_name_the_key_the_value_and_what_is_allowed(options, fragments):
    with pytest.raises(ConfigError) as err:
        create_backend("diffusers", {**tiny_options(WAN), **options})
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_misspelt_hyperparameter_is_an_error_not_ignored():
    misspelt = {"transformer": {"num_layer": 1}}
    with pytest.raises(ConfigError, match=r"parameter\(s\) num_layer; allowed: .*num_layers"):
        loaded(WAN, ("denoise",), architecture=misspelt)


def test_a_shape_the_model_cannot_render_fails_at_job_start(built):
    embeddings, backend = built[WAN]
    with pytest.raises(ConfigError) as err:
        backend.denoise(embeddings, VideoShape(4, 40, 48), steps=1, seed=0)
    message = str(err.value)
    assert "multiples of 16" in message and "nearest: height 32 or 48" in message
    assert "4 frames: frame counts must be 4k+1" in message and "nearest: [1, 5]" in message


@pytest.mark.parametrize("model", [WAN, COGVIDEOX])
def test_frame_rule_matches_what_the_vae_decodes(built, model):
    """The checked rule (Wan 4k+1, CogVideoX 8k+1) is what the VAE really returns."""
    _, backend = built[model]
    vae = backend.pipe.vae
    layout = Layout(backend.layout.pipeline, {"vae": {"config": dict(vae.config)}})
    _, ok = frame_rule(layout)
    for frames in range(1, 18):
        latent_frames = (frames - 1) // 4 + 1
        if model == WAN:
            latents = torch.randn(1, 16, latent_frames, 2, 2)
            decoded = vae.decode(latents).sample.shape[2]
        else:
            latents = torch.randn(1, latent_frames, 16, 2, 2)
            decoded = backend.pipe.decode_latents(latents).shape[2]
        assert ok(frames) == (decoded == frames), (frames, decoded)


# -- pretrained weights from an offline Hugging Face cache -------------------------------------
def test_pretrained_loads_offline_by_hub_id(built, hf_cache):
    embeddings, random = built[WAN]
    encoder = loaded(WAN, ("encode",))
    full = loaded(WAN, ("denoise", "decode"))
    text = {"tokenizer": encoder.pipe.tokenizer, "text_encoder": encoder.pipe.text_encoder}
    full.pipe.register_modules(**text)
    revision = cache_snapshot(hf_cache, "test-org/tiny-wan", full.pipe)

    pretrained = create_backend("diffusers", {"model": "test-org/tiny-wan"})
    pretrained.load("cpu", ("encode",))
    assert torch.equal(
        pretrained.encode("a heron wading, at dawn")["prompt_embeds"], embeddings["prompt_embeds"]
    )
    pretrained = create_backend("diffusers", {"model": "test-org/tiny-wan"})
    pretrained.load("cpu", ("denoise", "decode"))
    info = pretrained.describe()
    assert info["weights"] == "pretrained" and info["revision"] == revision
    assert info["params_text_encoder"] is None  # not loaded by a generation job
    shape = SHAPES[WAN]
    # the saved weights, not new random ones: the latents of the model that was saved (up to
    # float rounding: loaded tensors are laid out differently in memory)
    latents = pretrained.denoise(embeddings, shape, steps=2, seed=5)
    torch.testing.assert_close(latents, random.denoise(embeddings, shape, steps=2, seed=5))
    for a, b in zip(
        pretrained.pipe.transformer.parameters(), random.pipe.transformer.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_missing_weights_name_the_model_and_the_fetch_command(built, hf_cache):
    backend = create_backend("diffusers", {"model": "test-org/absent"})
    with pytest.raises(BackendUnavailable) as err:
        backend.load("cpu", ("denoise",))
    message = str(err.value)
    assert "'test-org/absent'" in message and str(hf_cache) in message
    assert "snakemake --cores 1 --until fetch_weights" in message
    assert "hf download test-org/absent" in message

    _, generator = built[LATTE]
    cache_snapshot(hf_cache, "test-org/configs-only", generator.pipe, weights=False)
    backend = create_backend("diffusers", {"model": "test-org/configs-only"})
    with pytest.raises(BackendUnavailable, match="only configs are cached"):
        backend.load("cpu", ("denoise",))


def test_random_weights_from_a_local_directory_layout(built, tmp_path):
    """A model without an embedded architecture is built from its own configs."""
    embeddings, backend = built[LATTE]
    backend.pipe.save_pretrained(tmp_path / "latte")
    other = create_backend("diffusers", {"model": str(tmp_path / "latte"), "weights": "random"})
    other.load("cpu", ("denoise",))
    # same configs, same seeds: the same weights as the embedded tiny architecture
    shape = SHAPES[LATTE]
    assert torch.equal(
        other.denoise(embeddings, shape, steps=1, seed=0),
        backend.denoise(embeddings, shape, steps=1, seed=0),
    )


def test_unsupported_pipeline_is_refused(tmp_path):
    (tmp_path / "sd").mkdir()
    (tmp_path / "sd" / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}'
    )
    backend = create_backend("diffusers", {"model": str(tmp_path / "sd"), "weights": "random"})
    with pytest.raises(ConfigError, match="StableDiffusionPipeline, not a supported"):
        backend.load("cpu", ("denoise",))
