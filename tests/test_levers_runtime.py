"""Levers applied to the toy Latte with diffusers' own mechanisms, and the fidelity measure."""

import math

import numpy as np
import pytest

from vidcarbon.backends import VideoShape
from vidcarbon.backends.latte_tiny import LatteTiny
from vidcarbon.backends.lever_hooks import apply_lever
from vidcarbon.quality.fidelity import fidelity

SHAPE = VideoShape(4, 144, 256)
STEPS = 8
# PAB computing every attention at every step (skip range 1): a lever that changes nothing
NO_OP = {
    "cache": {
        "kind": "pyramid_attention_broadcast",
        "spatial_attention_block_skip_range": 1,
        "temporal_attention_block_skip_range": 1,
    },
    "scheduler": None,
}
PAB = {
    "cache": {
        "kind": "pyramid_attention_broadcast",
        "spatial_attention_block_skip_range": 2,
        "temporal_attention_block_skip_range": 2,
        "spatial_attention_timestep_skip_range": [100, 800],
        "temporal_attention_timestep_skip_range": [100, 800],
    },
    "scheduler": None,
}


def video(lever=None, steps=STEPS, runs=1):
    """Frames of the toy model under `lever`, from the last of `runs` passes (a warm-up first,
    as a measured job does)."""
    model = LatteTiny()
    model.load("cpu", ("encode", "denoise", "decode"))
    apply_lever(model, lever)
    embeddings = model.encode("a heron over a lake")
    for _ in range(runs):
        latents = model.denoise(embeddings, SHAPE, steps, seed=0)
    return model.decode(latents, SHAPE)


@pytest.fixture(scope="module")
def baseline():
    return video()


def test_a_no_op_lever_gives_the_baseline_video(baseline):
    # tolerance 0: the same operations in the same order; after a warm-up pass too, since the
    # hooks' state is reset before each pass
    assert np.array_equal(video(NO_OP, runs=2), baseline)


@pytest.mark.parametrize("vae", ["tiling", "slicing"])
def test_the_vae_levers_are_the_vaes_own(baseline, vae):
    model = LatteTiny()
    model.load("cpu", ("decode",))
    apply_lever(model, {"cache": None, "scheduler": None, "vae": vae})
    assert getattr(model.pipe.vae, f"use_{vae}")
    found = fidelity(video({"cache": None, "scheduler": None, "vae": vae}), baseline)
    if vae == "slicing":  # the toy decodes one frame at a time: nothing to slice
        assert found.ssim == 1.0
    else:  # its VAE's tile is its sample_size, 32 px: 144x256 frames decode in blended tiles
        assert 0 < found.ssim < 1


def test_fidelity_of_the_baseline_to_itself_is_perfect(baseline):
    found = fidelity(baseline, baseline.copy())
    assert math.isinf(found.psnr_db) and found.ssim == 1.0


def test_pyramid_attention_broadcast_changes_the_video_a_little(baseline):
    found = fidelity(video(PAB), baseline)
    assert 0 < found.ssim < 1 and math.isfinite(found.psnr_db)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("unipc", "UniPCMultistepScheduler"), ("dpm-solver", "DPMSolverMultistepScheduler")],
)
def test_the_scheduler_swap_runs_fewer_steps_on_the_noise_prediction(baseline, name, cls):
    model = LatteTiny()
    model.load("cpu", ("denoise", "decode"))
    apply_lever(model, {"cache": None, "scheduler": name})
    assert type(model.pipe.scheduler).__name__ == cls
    # without a learned variance in its config, LattePipeline hands it the noise prediction
    assert model.pipe.scheduler.config.get("variance_type") is None
    frames = video({"cache": None, "scheduler": name}, steps=STEPS // 2)
    assert frames.shape == baseline.shape


def test_first_block_cache_does_not_fit_latte(baseline):
    """Why the config refuses it on Latte (vidcarbon.levers.SUPPORT)."""
    with pytest.raises(RuntimeError, match="size of tensor"):
        video({"cache": {"kind": "first_block_cache", "threshold": 0.0}, "scheduler": None})


def test_fidelity_refuses_videos_of_different_shapes(baseline):
    with pytest.raises(ValueError, match="differ"):
        fidelity(baseline[:2], baseline)
