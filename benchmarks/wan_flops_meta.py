"""FLOPs of Wan2.1-T2V-1.3B's denoising at its native shape, counted without running it.

The full-size transformer (the project's embedded architecture) is built on the meta device
and called once at 480x832, 81 frames (latent 16 x 21 x 60 x 104) with a 512-token UMT5
text, under PyTorch's FlopCounterMode, which counts the matrix products and attention from
the shapes alone. A step runs two such passes (the conditional and the unconditional one of
guidance); the denoising runs `--steps` of them. No memory is allocated and nothing is
computed, so this takes seconds on any CPU and gives the bound that the GPU check compares
its measured denoising time with:

    python benchmarks/wan_flops_meta.py [--steps 50] [--tflops 790]
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from vidcarbon.backends.diffusers_spec import known_layout, parse_options

WAN = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


def transformer_pass_flops(height: int = 480, width: int = 832, frames: int = 81) -> int:
    import diffusers

    layout = known_layout(parse_options({"model": WAN, "weights": "random"}))
    spec = layout.components["transformer"]
    with torch.device("meta"):
        transformer = getattr(diffusers, spec["class"]).from_config(spec["config"])
    vae = layout.config("vae")
    spatial, temporal = vae.get("scale_factor_spatial", 8), vae.get("scale_factor_temporal", 4)
    latents = torch.empty(
        1,
        spec["config"]["in_channels"],
        (frames - 1) // temporal + 1,
        height // spatial,
        width // spatial,
        device="meta",
    )
    text = torch.empty(1, 512, spec["config"]["text_dim"], device="meta")
    timestep = torch.empty(1, dtype=torch.long, device="meta")
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        transformer(
            hidden_states=latents, timestep=timestep, encoder_hidden_states=text, return_dict=False
        )
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tflops", type=float, default=790.0, help="rate of the time bound")
    args = parser.parse_args()
    one_pass = transformer_pass_flops()
    total = 2 * one_pass * args.steps
    print(f"one transformer pass: {one_pass} FLOPs ({one_pass:.4e})")
    print(f"denoising, {args.steps} steps x 2 passes: {total} FLOPs ({total:.4e})")
    print(f"time bound at {args.tflops:g} TFLOP/s: {total / args.tflops / 1e12:.1f} s")


if __name__ == "__main__":
    main()
