"""The FLOP formula of spatial-temporal DiTs: equal to PyTorch's counter on diffusers' Latte,
and Open-Sora's STDiT2 against a count by hand."""

import pytest

from vidcarbon.dit_flops import STDIT2_XL_2, latte
from vidcarbon.flops import flop_counter


def latte_config(heads, head_dim, layers, frames, caption_channels):
    return {
        "num_attention_heads": heads,
        "attention_head_dim": head_dim,
        "in_channels": 4,
        "out_channels": 8,
        "num_layers": layers,
        "cross_attention_dim": heads * head_dim,
        "attention_bias": True,
        "sample_size": 64,
        "patch_size": 2,
        "activation_fn": "gelu-approximate",
        "num_embeds_ada_norm": 1000,
        "norm_type": "ada_norm_single",
        "norm_elementwise_affine": False,
        "norm_eps": 1e-6,
        "caption_channels": caption_channels,
        "video_length": frames,
    }


def counted(config, frames, height, width, text_tokens, batch, device):
    import torch
    from diffusers import LatteTransformer3DModel

    with torch.device(device):
        model = LatteTransformer3DModel(**config)
        x = torch.randn(batch, 4, frames, height, width)
        y = torch.randn(batch, text_tokens, config["caption_channels"])
        t = torch.full((batch,), 10)
    with flop_counter() as counter, torch.no_grad():
        model(x, timestep=t, encoder_hidden_states=y)
    return counter.get_total_flops()


@pytest.mark.parametrize(
    "heads, head_dim, layers, frames, height, width, tokens, caption, batch, device",
    [
        (2, 16, 2, 4, 8, 12, 7, 24, 2, "cpu"),  # tiny, run for real on the CPU
        (3, 8, 1, 5, 6, 10, 9, 40, 1, "cpu"),
        # Latte-1 at full size (STDiT2's width and depth) at 480p, 64 frames, on the meta
        # device: shapes only, nothing computed
        (16, 72, 28, 64, 60, 106, 120, 4096, 2, "meta"),
    ],
)
def test_the_formula_equals_pytorchs_counter_on_latte(
    heads, head_dim, layers, frames, height, width, tokens, caption, batch, device
):
    config = latte_config(heads, head_dim, layers, frames, caption)
    expected = counted(config, frames, height, width, tokens, batch, device)
    assert latte(config).step_flops(frames, height, width, tokens, batch) == expected


def test_stdit2_denoising_of_8_s_480p_at_100_guided_steps_matches_the_hand_count():
    """By hand: 480p is a 60 x 106 latent (854 / 8 floored), 30 x 53 = 1590 tokens per frame
    after the 2 x 2 patch; 8 s at 8 fps is 64 latent frames (no temporal compression), so
    N = 101,760 tokens. Per block (d = 1152, d² = 1.327e6), per token: spatial and temporal
    attention projections 8 d² each, cross-attention q and out 4 d², MLP (ratio 4) 16 d²:
    36 d² = 4.78e7 FLOPs, x N x 28 blocks = 1.361e14. Attention per block: spatial
    4 x 1590² x 1152 x 64 = 7.46e11, temporal 4 x 64² x 1152 x 1590 = 3.0e10, cross to 200
    T5 tokens 4 x 101,760 x 200 x 1152 = 9.38e10; 8.69e11 x 28 = 2.43e13. One forward:
    1.60e14; classifier-free guidance doubles the batch: 3.21e14 per step; 100 steps:
    3.2e16 FLOPs."""
    per_step = STDIT2_XL_2.step_flops(64, 480 // 8, 854 // 8, 200, batch=2)
    assert 100 * per_step == pytest.approx(3.2e16, rel=0.05)
    assert STDIT2_XL_2.tokens(64, 60, 106) == (64, 1590)
    # 240p's 53-column latent is padded to 54 by the patch embedding: 15 x 27 tokens
    assert STDIT2_XL_2.tokens(16, 240 // 8, 426 // 8) == (16, 405)
