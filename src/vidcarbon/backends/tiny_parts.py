"""Parts shared by the toy models built in code (latte-tiny, pixart-tiny, llama-tiny):
a tokenizer that needs no download, a T5 v1.1-style encoder, a KL VAE with 8x spatial
downsampling, seeded initialisation and device/dtype placement."""

from __future__ import annotations

import string

import torch

LATENT_CHANNELS = 4


def build_tokenizer():
    """A unigram T5 tokenizer over ASCII characters and a few words; other characters -> <unk>."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    for char in string.ascii_letters + string.digits + string.punctuation:
        pieces += [(char, -5.0), ("\u2581" + char, -4.5)]
    words = [
        "the",
        "a",
        "an",
        "of",
        "and",
        "in",
        "to",
        "with",
        "on",
        "at",
        "is",
        "by",
        "from",
        "as",
        "it",
        "its",
        "under",
        "over",
        "through",
        "into",
    ]
    pieces += [("\u2581" + w, -3.0) for w in words]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def resolve_dtype(name: str, device: str) -> torch.dtype:
    """'auto' is bfloat16 on cuda and float32 on cpu; otherwise the torch dtype named."""
    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return getattr(torch, name)


def seed_component(weights_seed: int, component: int) -> None:
    """Seed torch before building one component, so its random weights depend on nothing else."""
    torch.manual_seed(weights_seed * 1000 + component)


def tiny_t5_encoder(vocab_size: int):
    """A 2-layer T5 v1.1-style encoder (gated-GELU feed-forward), d_model 32."""
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab_size,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            feed_forward_proj="gated-gelu",
        )
    )


def tiny_vae():
    """A KL autoencoder with 4 latent channels and 8x spatial downsampling, like SD's VAE.

    Decoding works on every pixel, so even at toy width it costs several denoising steps of
    the toy transformers; one resnet per block, 4 channels and no mid-block attention (whose
    cost grows with the square of the latent pixels) keep it to a few steps' worth."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=4,
        block_out_channels=(4, 4, 4, 4),
        layers_per_block=0,  # the decoder has layers_per_block + 1 resnets per block
        mid_block_add_attention=False,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
    )


def place(modules, device: str, dtype: torch.dtype) -> None:
    """Move the built modules (None skipped) to `device` and `dtype`, in eval mode."""
    for module in modules:
        if module is not None:
            module.to(device=device)
            if dtype != torch.float32:
                module.to(dtype=dtype)
            module.eval()


def to_uint8_frames(frames, height: int, width: int):
    """Float frames in [0, 1], (n, padded height, padded width, 3), centre-cropped to
    `height` x `width` (the latent was padded to the patch size) and converted to uint8."""
    import numpy as np

    top = (frames.shape[1] - height) // 2
    left = (frames.shape[2] - width) // 2
    frames = frames[:, top : top + height, left : left + width]
    return (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)


def parameter_count(module) -> int | None:
    return None if module is None else sum(p.numel() for p in module.parameters())


class TinyDiffusionBackend:
    """The common frame of the toy diffusion backends: options, building the components the
    requested phases need (seeded per component), and describing them. A subclass names its
    denoiser, scheduler and diffusers pipeline, and implements the three phases."""

    default_guidance_scale = 7.0

    def __init__(
        self,
        guidance_scale: float | None = None,
        weights_seed: int = 0,
        max_text_tokens: int = 120,
        dtype: str = "auto",
    ):
        scale = self.default_guidance_scale if guidance_scale is None else guidance_scale
        self.guidance_scale = float(scale)
        self.weights_seed = int(weights_seed)
        self.max_text_tokens = int(max_text_tokens)
        self.dtype_name = dtype
        self.pipe = None
        self.device = "cpu"

    def build_denoiser(self):
        raise NotImplementedError

    def build_pipeline(self, **components):
        raise NotImplementedError

    def load(self, device: str, phases) -> None:
        self.device = device
        self.dtype = resolve_dtype(self.dtype_name, device)
        tokenizer = text_encoder = transformer = vae = None
        if "encode" in phases:
            tokenizer = build_tokenizer()
            seed_component(self.weights_seed, 1)
            text_encoder = tiny_t5_encoder(len(tokenizer))
        if "denoise" in phases:
            seed_component(self.weights_seed, 2)
            transformer = self.build_denoiser()
        if "decode" in phases or "denoise" in phases:
            seed_component(self.weights_seed, 3)
            vae = tiny_vae()
        pipe = self.build_pipeline(
            tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer
        )
        pipe.set_progress_bar_config(disable=True)
        place((text_encoder, transformer, vae), device, self.dtype)
        self.pipe = pipe

    def describe(self) -> dict:
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
