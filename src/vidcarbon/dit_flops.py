"""FLOPs of one denoising step of a spatial-temporal diffusion transformer, from its
hyper-parameters, for a denoiser whose code cannot run where FLOPs are counted: Open-Sora's
STDiT2 imports xformers and needs CUDA. The same formula, given Latte's structure, equals
PyTorch's FLOP counter on diffusers' `LatteTransformer3DModel` (tests/test_dit_flops.py), which
has the same parts: patch embedding, spatial and temporal self-attention, cross-attention to
the T5 caption, MLPs, adaLN-single timestep modulation, a linear output.

Counted as `torch.utils.flop_counter` counts: 2 FLOPs per multiply-add of every matrix product
(linear layers, attention's Q K^T and softmax(.) V, convolutions); normalisations, activations,
softmax, RoPE and bias additions are not counted (they are a few per mille of a step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SpatioTemporalDiT:
    """The FLOP-relevant structure of a DiT over a latent video of (frames, height, width).

    `mlps_per_block`: MLPs per block (STDiT2 has one after its spatial, temporal and cross
    attention; Latte's spatial and temporal blocks have one each). `caption_kv_per_frame`: the
    caption is projected to keys and values once per frame (Latte repeats it per frame) rather
    than once per video (STDiT2). `modulation_chunks`: the timestep embedding's adaLN-single
    projection width in units of `hidden` (6 for spatial blocks, STDiT2 adds 3 temporal).
    """

    hidden: int
    depth: int
    mlp_ratio: float
    in_channels: int
    out_channels: int
    patch: tuple[int, int, int]  # (frames, height, width)
    caption_channels: int
    mlps_per_block: int
    caption_kv_per_frame: bool
    modulation_chunks: int = 6
    timestep_channels: int = 256  # sinusoidal timestep embedding fed to the timestep MLP

    def tokens(self, frames: int, latent_height: int, latent_width: int) -> tuple[int, int]:
        """(latent frames, tokens per frame) after patching; a latent that is not a multiple of
        the patch is padded up to one (as Open-Sora's PatchEmbed3D does)."""
        pt, ph, pw = self.patch
        per_frame = math.ceil(latent_height / ph) * math.ceil(latent_width / pw)
        return math.ceil(frames / pt), per_frame

    def step_flops(
        self, frames: int, latent_height: int, latent_width: int, text_tokens: int, batch: int = 2
    ) -> int:
        """FLOPs of one denoiser call on `batch` videos (2: classifier-free guidance) of
        `frames` latent frames of latent_height x latent_width, each attending to
        `text_tokens` caption tokens."""
        t, s = self.tokens(frames, latent_height, latent_width)
        n, d, c = t * s, self.hidden, text_tokens
        pt, ph, pw = self.patch
        # per token and block: spatial and temporal q, k, v, out (4 d^2 multiply-adds each),
        # cross-attention q and out (2 d^2), the MLPs (2 x ratio x d^2 each)
        linear = n * (4 + 4 + 2 + 2 * self.mlp_ratio * self.mlps_per_block) * d * d
        caption_kv = (t if self.caption_kv_per_frame else 1) * c * 2 * d * d
        attention = t * 2 * s * s * d + s * 2 * t * t * d + 2 * n * c * d  # QK^T and AV
        blocks = self.depth * (linear + caption_kv + attention)
        embed = (
            n * pt * ph * pw * self.in_channels * d  # patch embedding
            + c * (self.caption_channels * d + d * d)  # caption MLP
            + self.timestep_channels * d
            + d * d  # timestep MLP
            + d * self.modulation_chunks * d  # adaLN-single
            + n * d * pt * ph * pw * self.out_channels  # output projection
        )
        return int(round(2 * batch * (blocks + embed)))


# Open-Sora v1.1's STDiT2-XL/2 (hub hpcai-tech/OpenSora-STDiT-v2-stage3, config.json: hidden 1152,
# depth 28, 16 heads, patch (1, 2, 2), mlp_ratio 4, caption_channels 4096, pred_sigma: 4 latent
# channels in, 8 out; opensora/models/stdit/stdit2.py at v1.1.0: per block spatial attention,
# temporal attention, cross-attention over the caption tokens of all videos at once, one MLP;
# t_block (6 x hidden) and t_block_temp (3 x hidden) modulation).
STDIT2_XL_2 = SpatioTemporalDiT(
    hidden=1152,
    depth=28,
    mlp_ratio=4.0,
    in_channels=4,
    out_channels=8,
    patch=(1, 2, 2),
    caption_channels=4096,
    mlps_per_block=1,
    caption_kv_per_frame=False,
    modulation_chunks=9,
)


def latte(config: dict) -> SpatioTemporalDiT:
    """The structure of a diffusers `LatteTransformer3DModel` of `config` (its __init__ keys)."""
    hidden = config["num_attention_heads"] * config["attention_head_dim"]
    patch = config["patch_size"]
    return SpatioTemporalDiT(
        hidden=hidden,
        depth=config["num_layers"],  # a spatial and a temporal block each, one MLP in each
        mlp_ratio=4.0,
        in_channels=config["in_channels"],
        out_channels=config["out_channels"],
        patch=(1, patch, patch),
        caption_channels=config["caption_channels"],
        mlps_per_block=2,
        caption_kv_per_frame=True,
        modulation_chunks=6,
    )
