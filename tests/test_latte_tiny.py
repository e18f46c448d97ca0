import numpy as np
import pytest
import torch

from vidcarbon.backends import Backend, VideoShape, create_backend


@pytest.fixture(scope="module")
def embeddings():
    encoder = create_backend("latte-tiny", {})
    encoder.load("cpu", phases=("encode",))
    return encoder.encode('A "quoted" $(prompt) with `ticks`, \\n and ümlauts')


@pytest.fixture(scope="module")
def generator():
    torch.set_num_threads(1)
    backend = create_backend("latte-tiny", {})
    backend.load("cpu", phases=("denoise", "decode"))
    return backend


def test_implements_the_protocol(generator):
    assert isinstance(generator, Backend)
    info = generator.describe()
    assert info["params_text_encoder"] is None  # generate jobs do not load the text encoder
    assert info["params_transformer"] > 10_000 and info["dtype"] == "float32"


def test_encode_keeps_prompt_tokens_and_cfg_embedding(embeddings):
    assert embeddings["prompt_embeds"].shape == embeddings["negative_prompt_embeds"].shape
    assert embeddings["prompt_embeds"].shape[1] == embeddings["text_tokens"] > 10
    assert torch.isfinite(embeddings["prompt_embeds"]).all()


def test_weights_and_outputs_are_seeded(generator, embeddings):
    other = create_backend("latte-tiny", {})
    other.load("cpu", phases=("denoise", "decode"))
    for a, b in zip(
        generator.pipe.transformer.parameters(), other.pipe.transformer.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    shape = VideoShape(frames=4, height=144, width=256)
    first = generator.denoise(embeddings, shape, steps=2, seed=3)
    again = other.denoise(embeddings, shape, steps=2, seed=3)
    different = generator.denoise(embeddings, shape, steps=2, seed=4)
    assert torch.equal(first, again)
    assert not torch.equal(first, different)


def test_shape_steps_and_crop(generator, embeddings):
    shape = VideoShape(frames=3, height=240, width=426)  # latent 30x54, cropped back to 426
    seen = []
    latents = generator.denoise(embeddings, shape, steps=3, seed=0, on_step=seen.append)
    assert seen == [0, 1, 2]
    assert tuple(latents.shape) == (1, 4, 3, 30, 54)
    frames = generator.decode(latents, shape)
    assert frames.shape == (3, 240, 426, 3) and frames.dtype == np.uint8


def test_the_vae_decodes_one_frame_at_a_time(generator, monkeypatch):
    """So decoding grows linearly with the frame count (a batch of all frames does not)."""
    batches = []
    decode = generator.pipe.vae.decode

    def counting(latents, *args, **kwargs):
        batches.append(latents.shape[0])
        return decode(latents, *args, **kwargs)

    monkeypatch.setattr(generator.pipe.vae, "decode", counting)
    frames = generator.decode(torch.randn(1, 4, 5, 18, 32), VideoShape(5, 144, 256))
    assert batches == [1] * 5 and frames.shape == (5, 144, 256, 3)
