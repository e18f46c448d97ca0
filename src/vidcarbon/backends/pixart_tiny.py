"""`pixart-tiny`: a diffusers PixArtAlphaPipeline built in code with seeded random weights.

PixArt-α is the DiT text-to-image model that Open-Sora 1.x grew from: a T5 encoder,
a transformer with cross-attention and adaLN-single, a KL VAE with 8x downsampling. At toy
size it is the image baseline between text and video; the same protocol as the video backends,
with one frame (`VideoShape(1, height, width)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from vidcarbon.backends.base import VideoShape
from vidcarbon.backends.tiny_parts import LATENT_CHANNELS, TinyDiffusionBackend, to_uint8_frames
from vidcarbon.grid import latent_size

VAE_DOWNSAMPLE = 8
PATCH = 2
MIN_STEPS = 2


class PixArtTiny(TinyDiffusionBackend):
    """PixArt-α at toy size; options: guidance_scale, weights_seed, max_text_tokens, dtype."""

    default_guidance_scale = 4.5
    min_steps = MIN_STEPS

    def build_denoiser(self):
        from diffusers import PixArtTransformer2DModel

        return PixArtTransformer2DModel(
            num_attention_heads=8,
            attention_head_dim=8,
            in_channels=LATENT_CHANNELS,
            out_channels=2 * LATENT_CHANNELS,  # learned sigma
            num_layers=4,
            cross_attention_dim=64,
            sample_size=18,
            patch_size=PATCH,
            norm_type="ada_norm_single",
            norm_elementwise_affine=False,
            norm_eps=1e-6,
            num_embeds_ada_norm=1000,
            caption_channels=32,
            activation_fn="gelu-approximate",
            attention_bias=True,
            use_additional_conditions=False,
        )

    def build_pipeline(self, **components):
        from diffusers import DPMSolverMultistepScheduler, PixArtAlphaPipeline

        # PixArt-α's sampler (DPM-Solver)
        return PixArtAlphaPipeline(scheduler=DPMSolverMultistepScheduler(), **components)

    @torch.inference_mode()
    def encode(self, prompt: str) -> dict[str, Any]:
        embeds, mask, neg_embeds, neg_mask = self.pipe.encode_prompt(
            prompt,
            do_classifier_free_guidance=True,
            device=self.device,
            clean_caption=False,
            max_sequence_length=self.max_text_tokens,
        )
        return {
            "prompt_embeds": embeds,
            "prompt_attention_mask": mask,
            "negative_prompt_embeds": neg_embeds,
            "negative_prompt_attention_mask": neg_mask,
            "text_tokens": int(mask[0].sum()),
        }

    @torch.inference_mode()
    def denoise(
        self,
        embeddings: dict[str, Any],
        shape: VideoShape,
        steps: int,
        seed: int,
        on_step: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        if steps < MIN_STEPS:
            raise ValueError(
                f"steps={steps}: PixArtAlphaPipeline treats 1 step as a one-step distilled model "
                f"(PixArt-DMD) that the DPM-Solver scheduler cannot run; use steps >= {MIN_STEPS}"
            )
        lh, lw = latent_size(shape.height, shape.width, VAE_DOWNSAMPLE, PATCH)
        generator = torch.Generator(device=self.device).manual_seed(seed)

        def callback(i, t, latents):
            if on_step is not None:
                on_step(i)

        out = self.pipe(
            prompt_embeds=embeddings["prompt_embeds"].to(self.device, self.dtype),
            prompt_attention_mask=embeddings["prompt_attention_mask"].to(self.device),
            negative_prompt=None,
            negative_prompt_embeds=embeddings["negative_prompt_embeds"].to(self.device, self.dtype),
            negative_prompt_attention_mask=embeddings["negative_prompt_attention_mask"].to(
                self.device
            ),
            num_inference_steps=steps,
            height=lh * VAE_DOWNSAMPLE,
            width=lw * VAE_DOWNSAMPLE,
            guidance_scale=self.guidance_scale,
            generator=generator,
            output_type="latent",
            use_resolution_binning=False,
            clean_caption=False,
            callback=callback,
            return_dict=False,
        )
        return out[0]

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, shape: VideoShape) -> np.ndarray:
        """uint8 frames (1, height, width, 3), centre-cropped from the latent's padded size."""
        vae = self.pipe.vae
        image = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        image = self.pipe.image_processor.postprocess(image, output_type="np")
        return to_uint8_frames(image, shape.height, shape.width)

    def first_frame(self, latents: torch.Tensor, shape: VideoShape):
        return latents, shape  # an image is its only frame
