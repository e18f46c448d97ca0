"""FLOPs per phase, counted with PyTorch's FLOP counter on one probe run per shape.

Per (model, resolution, frames): the text encoding of one prompt (with its unconditional
twin for classifier-free guidance), one denoising step (the CFG batch included) and the
decoding of the whole video. Denoising FLOPs of a cell = steps x the step's FLOPs, exactly,
since every step runs the same operators.
"""

from __future__ import annotations

import logging
from typing import Any

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.errors import BackendUnavailable
from vidcarbon.grid import RESOLUTIONS

log = logging.getLogger(__name__)


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """Q K^T and softmax(.) V as two batched matmuls: 2 b h s_q s_k (d_qk + d_v)."""
    *batch, s_q, d_qk = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    b_h = 1
    for n in batch:
        b_h *= n
    return 2 * b_h * s_q * s_k * (d_qk + d_v)


def flop_counter():
    """PyTorch's FlopCounterMode, plus the CPU flash-attention kernel, which it does not count
    (torch 2.13: `_scaled_dot_product_flash_attention_for_cpu` reads 0 FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    cpu_sdpa = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    return FlopCounterMode(display=False, custom_mapping={cpu_sdpa: _sdpa_flops})


def count_phase_flops(
    model: str,
    backend: str,
    options: dict,
    prompt: str,
    shapes: list[tuple[str, int]],
    sizes: dict[str, tuple[int, int]] | None = None,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """One row per (resolution, frames) with encode, denoise-step and decode FLOPs.

    `sizes`: the model's own (height, width) per resolution name (default RESOLUTIONS).
    """
    import torch

    if backend == "diffusers":
        # FlopCounterMode sees PyTorch's SDPA kernels, not flash-attn's or xformers' (a FLOP
        # count does not depend on the kernel)
        options = {**options, "attention": "sdpa"}
    sizes = sizes or {}
    encoder = create_backend(backend, options)
    encoder.load(device, phases=("encode",))
    with flop_counter() as counter:
        embeddings = encoder.encode(prompt)
    encode_flops = counter.get_total_flops()
    del encoder
    generator = create_backend(backend, options)
    generator.load(device, phases=("denoise", "decode"))
    rows = []
    with torch.inference_mode():
        for resolution, frames in shapes:
            height, width = sizes.get(resolution) or RESOLUTIONS[resolution]
            shape = VideoShape(frames, height, width)
            with flop_counter() as counter:
                latents = generator.denoise(embeddings, shape, steps=1, seed=0)
            step_flops = counter.get_total_flops()
            with flop_counter() as counter:
                generator.decode(latents, shape)
            rows.append(
                {
                    "model": model,
                    "resolution": resolution,
                    "frames": frames,
                    "encode_flops": encode_flops,
                    "denoise_step_flops": step_flops,
                    "decode_flops": counter.get_total_flops(),
                    "dtype": generator.describe()["dtype"],
                }
            )
    return rows


def count_models_flops(
    models: dict[str, dict],
    prompt: str,
    shapes: list[tuple[str, int]],
    sizes: dict[str, dict[str, tuple[int, int]]],
    device: str,
) -> list[dict[str, Any]]:
    """`count_phase_flops` for every model; a model whose backend cannot be imported in this
    job's environment (Open-Sora lives in its own conda env) is left out, with a warning."""
    rows = []
    for model, spec in models.items():
        try:
            rows += count_phase_flops(
                model, spec["backend"], spec["options"], prompt, shapes, sizes[model], device
            )
        except BackendUnavailable as exc:
            log.warning("FLOPs of model %s not counted: %s", model, exc)
    return rows
