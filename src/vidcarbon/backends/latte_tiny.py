"""`latte-tiny`: a diffusers LattePipeline built in code with seeded random weights.

The architecture family of Open-Sora 1.x at toy size: a T5 v1.1-style encoder, a Latte
transformer (alternating spatial and temporal DiT blocks, cross-attention, adaLN-single,
learned sigma), a per-frame KL VAE with 8x spatial downsampling, and a DDPM scheduler with
learned variance. It needs no download, so it is the embedded default and the test model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import torch

from vidcarbon.backends.base import VideoShape
from vidcarbon.backends.tiny_parts import (
    LATENT_CHANNELS,
    build_tokenizer,
    parameter_count,
    place,
    resolve_dtype,
    seed_component,
    tiny_t5_encoder,
    tiny_vae,
)
from vidcarbon.grid import latent_size

VAE_DOWNSAMPLE = 8
PATCH = 2


class LatteTiny:
    """Latte at toy size; options: guidance_scale, weights_seed, max_text_tokens, dtype."""

    def __init__(
        self,
        guidance_scale: float = 7.0,
        weights_seed: int = 0,
        max_text_tokens: int = 120,
        dtype: str = "auto",
    ):
        self.guidance_scale = float(guidance_scale)
        self.weights_seed = int(weights_seed)
        self.max_text_tokens = int(max_text_tokens)
        self.dtype_name = dtype
        self.pipe = None
        self.device = "cpu"

    # -- building -------------------------------------------------------------------------
    def load(self, device: str, phases: Collection[str]) -> None:
        from diffusers import DDPMScheduler, LattePipeline, LatteTransformer3DModel

        self.device = device
        self.dtype = resolve_dtype(self.dtype_name, device)
        tokenizer = text_encoder = transformer = vae = None
        if "encode" in phases:
            tokenizer = build_tokenizer()
            seed_component(self.weights_seed, 1)
            text_encoder = tiny_t5_encoder(len(tokenizer))
        if "denoise" in phases:
            seed_component(self.weights_seed, 2)
            transformer = LatteTransformer3DModel(
                num_attention_heads=8,
                attention_head_dim=8,
                in_channels=LATENT_CHANNELS,
                out_channels=2 * LATENT_CHANNELS,  # learned sigma
                num_layers=4,
                cross_attention_dim=64,
                sample_size=18,
                patch_size=PATCH,
                norm_type="ada_norm_single",
                num_embeds_ada_norm=1000,
                caption_channels=32,
                activation_fn="gelu-approximate",
                video_length=16,
            )
        if "decode" in phases or "denoise" in phases:
            seed_component(self.weights_seed, 3)
            vae = tiny_vae()
        scheduler = DDPMScheduler(
            num_train_timesteps=1000, beta_schedule="linear", variance_type="learned_range"
        )
        pipe = LattePipeline(
            tokenizer=tokenizer,
            text_encoder=text_encoder,
            vae=vae,
            transformer=transformer,
            scheduler=scheduler,
        )
        pipe.set_progress_bar_config(disable=True)
        place((text_encoder, transformer, vae), device, self.dtype)
        self.pipe = pipe

    def describe(self) -> dict[str, Any]:
        pipe = self.pipe

        attention = None
        if pipe.transformer is not None:
            processors = {
                type(m.processor).__name__
                for m in pipe.transformer.modules()
                if hasattr(m, "processor")
            }
            attention = ",".join(sorted(processors))
        return {
            "dtype": str(self.dtype).removeprefix("torch."),
            "attention": attention,
            "params_text_encoder": parameter_count(pipe.text_encoder),
            "params_transformer": parameter_count(pipe.transformer),
            "params_vae": parameter_count(pipe.vae),
        }

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

        out = self.pipe(
            prompt_embeds=embeddings["prompt_embeds"].to(self.device, self.dtype),
            negative_prompt=None,
            negative_prompt_embeds=embeddings["negative_prompt_embeds"].to(self.device, self.dtype),
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
        frames = latents.shape[2]
        video = self.pipe.decode_latents(latents, video_length=frames, decode_chunk_size=frames)
        video = self.pipe.video_processor.postprocess_video(video=video, output_type="np")[0]
        top = (video.shape[1] - shape.height) // 2
        left = (video.shape[2] - shape.width) // 2
        video = video[:, top : top + shape.height, left : left + shape.width]
        return (np.clip(video, 0.0, 1.0) * 255).round().astype(np.uint8)
