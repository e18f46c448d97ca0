"""`latte-tiny`: a diffusers LattePipeline built in code with seeded random weights.

The architecture family of Open-Sora 1.x at toy size: a T5 v1.1-style encoder, a Latte
transformer (alternating spatial and temporal DiT blocks, cross-attention, adaLN-single,
learned sigma), a per-frame KL VAE with 8x spatial downsampling, and a DDPM scheduler with
learned variance. It needs no download, so it is the embedded default and the test model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from vidcarbon.backends.base import VideoShape
from vidcarbon.backends.lever_hooks import denoise_context
from vidcarbon.backends.tiny_parts import LATENT_CHANNELS, TinyDiffusionBackend, to_uint8_frames
from vidcarbon.grid import latent_size

VAE_DOWNSAMPLE = 8
PATCH = 2


class LatteTiny(TinyDiffusionBackend):
    """Latte at toy size; options: guidance_scale, weights_seed, max_text_tokens, dtype."""

    default_guidance_scale = 7.0

    def build_denoiser(self):
        from diffusers import LatteTransformer3DModel

        # Small enough that the default grid (up to 360p, 16 frames) runs in a few minutes
        # on 2 CPU cores: one spatial and one temporal block of width 32 (docs/benchmarks.md).
        return LatteTransformer3DModel(
            num_attention_heads=2,
            attention_head_dim=16,
            in_channels=LATENT_CHANNELS,
            out_channels=2 * LATENT_CHANNELS,  # learned sigma
            num_layers=1,
            cross_attention_dim=32,
            sample_size=18,
            patch_size=PATCH,
            norm_type="ada_norm_single",
            num_embeds_ada_norm=1000,
            caption_channels=32,
            activation_fn="gelu-approximate",
            video_length=16,
        )

    def build_pipeline(self, **components):
        from diffusers import DDPMScheduler, LattePipeline

        scheduler = DDPMScheduler(
            num_train_timesteps=1000, beta_schedule="linear", variance_type="learned_range"
        )
        return LattePipeline(scheduler=scheduler, **components)

    # -- the three phases ----------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, prompt: str) -> dict[str, Any]:
        inputs = self.pipe.tokenizer(
            [prompt, ""],
            padding="max_length",
            max_length=self.max_text_tokens,
            truncation=True,
            return_attention_mask=True,
            return_tensors="pt",
        )
        ids = inputs.input_ids.to(self.device)
        mask = inputs.attention_mask.to(self.device)
        hidden = self.pipe.text_encoder(ids, attention_mask=mask)[0]
        # As LattePipeline does: keep the prompt's tokens only, and the same length of the
        # unconditional embedding for classifier-free guidance.
        keep = int(mask[0].sum())
        return {
            "prompt_embeds": hidden[:1, :keep].cpu(),
            "negative_prompt_embeds": hidden[1:, :keep].cpu(),
            "text_tokens": keep,
        }

    def _set_video_length(self, frames: int) -> None:
        """Latte's temporal position embedding is a fixed sin-cos table of `video_length` rows."""
        from diffusers.models.embeddings import get_1d_sincos_pos_embed_from_grid

        transformer = self.pipe.transformer
        if transformer.temp_pos_embed.shape[1] == frames:
            return
        table = get_1d_sincos_pos_embed_from_grid(
            transformer.config.num_attention_heads * transformer.config.attention_head_dim,
            torch.arange(0, frames).unsqueeze(1),
            output_type="pt",
        )
        transformer.temp_pos_embed = table.float().unsqueeze(0).to(self.device)

    @torch.inference_mode()
    def denoise(
        self,
        embeddings: dict[str, Any],
        shape: VideoShape,
        steps: int,
        seed: int,
        on_step: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        self._set_video_length(shape.frames)
        lh, lw = latent_size(shape.height, shape.width, VAE_DOWNSAMPLE, PATCH)
        generator = torch.Generator(device=self.device).manual_seed(seed)

        def callback(pipe, i, t, kwargs):
            if on_step is not None:
                on_step(i)
            return kwargs

        with denoise_context(self.pipe):
            out = self.pipe(
                prompt_embeds=embeddings["prompt_embeds"].to(self.device, self.dtype),
                negative_prompt=None,
                negative_prompt_embeds=embeddings["negative_prompt_embeds"].to(
                    self.device, self.dtype
                ),
                num_inference_steps=steps,
                video_length=shape.frames,
                height=lh * VAE_DOWNSAMPLE,
                width=lw * VAE_DOWNSAMPLE,
                guidance_scale=self.guidance_scale,
                generator=generator,
                output_type="latent",
                callback_on_step_end=callback,
                return_dict=False,
            )
        return out[0]

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, shape: VideoShape) -> np.ndarray:
        # One frame at a time, as the per-frame VAE allows: a batch of every frame spills the
        # CPU caches, which made decoding grow faster than the frame count (16 frames at 360p
        # took 3.6x the CPU time of 16 single-frame decodes; torch 2.13, one thread).
        video = self.pipe.decode_latents(
            latents, video_length=latents.shape[2], decode_chunk_size=1
        )
        video = self.pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        return to_uint8_frames(video, shape.height, shape.width)

    def first_frame(self, latents: torch.Tensor, shape: VideoShape):
        # (batch, channels, frames, height, width); the VAE decodes frame by frame
        return latents[:, :, :1], VideoShape(1, shape.height, shape.width)
