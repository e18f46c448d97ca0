"""`opensora`: hpcaitech Open-Sora v1.1 (STDiT2-XL/2, T5-XXL, SD VAE, IDDPM; the paper's setup)
or v1.2 (STDiT3-XL/2, T5-XXL, OpenSoraVAE_V1_2, rectified flow), imported from the `opensora`
package of the GPU node and driven through its own API (registry, `scheduler.sample`,
`vae.decode`), as `scripts/inference.py` of each release does.

Phases are measured apart:
- `encode` runs T5 (`text_encoder.encode`) and returns its embeddings. In `denoise`, Open-Sora's
  `scheduler.sample` is handed a stand-in text encoder whose `encode` returns them, so the
  sampler encodes nothing. Its `null` is Open-Sora's own `T5Encoder.null`: the null caption is
  a learned parameter of the denoiser (`y_embedder.y_embedding`), not a T5 output.
- `denoise` calls the real `scheduler.sample` (its CFG, respacing and rflow timestep transform
  untouched) with the denoiser wrapped in a step counter: each denoiser call is one step.
- `decode` times `vae.decode` alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

import numpy as np
import torch

from vidcarbon.backends.base import VideoShape
from vidcarbon.backends.opensora_options import (
    TEXT_ENCODER,
    OpenSoraOptions,
    frames_problem,
    parse_options,
    steps_problem,
)
from vidcarbon.backends.tiny_parts import parameter_count, resolve_dtype
from vidcarbon.errors import BackendUnavailable, ConfigError

log = logging.getLogger(__name__)

T5_XXL_CHANNELS = 4096  # caption_channels of every STDiT checkpoint (T5 v1.1 XXL d_model)
CONDITION_FPS = 24  # `fps` of both releases' inference configs (v1.1 saves at 24 // 3 = 8 fps)
IMAGE_FPS = 120  # opensora.datasets IMG_FPS: the fps condition of a 1-frame video


@dataclass(frozen=True)
class _OpenSoraAPI:
    """The parts of the `opensora` package this backend calls."""

    MODELS: Any
    SCHEDULERS: Any
    build_module: Callable
    T5Encoder: type
    text_preprocessing: Callable
    append_score_to_prompts: Callable | None  # v1.2 only


def _import_opensora(options: OpenSoraOptions) -> _OpenSoraAPI:
    """Import Open-Sora (registering its models and schedulers), or say how to install it."""
    release = options.release
    try:
        import opensora.models  # noqa: F401 - registers MODELS; imports xformers, colossalai
        import opensora.schedulers  # noqa: F401 - registers SCHEDULERS
        from opensora.models.text_encoder.t5 import T5Encoder, text_preprocessing
        from opensora.registry import MODELS, SCHEDULERS, build_module

        append_score_to_prompts = None
        if release.aesthetic_score is not None:
            from opensora.utils.inference_utils import append_score_to_prompts
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend 'opensora' (Open-Sora {options.version}) cannot be imported here: "
            f"module {exc.name!r} is missing ({exc}). Install it on the GPU node: "
            f'pip install "git+https://github.com/hpcaitech/Open-Sora.git@{release.tag}" '
            "with CUDA torch and xformers (required: its cross-attention calls "
            "xformers.ops.memory_efficient_attention), plus flash-attn and NVIDIA apex for "
            "enable_flash_attn / enable_layernorm_kernel; or run Snakemake with --sdm conda "
            f"and {release.env_file}, which installs all of them"
        ) from exc
    return _OpenSoraAPI(
        MODELS,
        SCHEDULERS,
        build_module,
        T5Encoder,
        text_preprocessing,
        append_score_to_prompts,
    )


class _EncodedPrompt:
    """Open-Sora's text encoder as `scheduler.sample` uses it, with the prompt already encoded:
    `encode` returns the encode job's embeddings, `null` is Open-Sora's `T5Encoder.null`."""

    def __init__(self, y: torch.Tensor, mask: torch.Tensor, y_embedder, t5_encoder_cls: type):
        self.y, self.mask, self.y_embedder = y, mask, y_embedder
        self._null = t5_encoder_cls.null

    def encode(self, prompts) -> dict[str, torch.Tensor]:
        return {"y": self.y, "mask": self.mask}  # a new dict: `sample` edits it

    def null(self, n: int) -> torch.Tensor:
        return self._null(self, n)


class _StepCounter:
    """The denoiser inside `scheduler.sample`: call i of the model is step i, and
    `on_step(i - 1)` runs as call i starts, so a step spans its model call and the scheduler
    update after it. It wraps `forward` too: IDDPM's `forward_with_cfg` calls `model.forward`
    directly, which nn.Module forward hooks never see."""

    def __init__(self, model, on_step: Callable[[int], None] | None):
        self.model, self.on_step = model, on_step
        self.calls = 0

    def forward(self, x, *args, **kwargs):
        if self.calls and self.on_step is not None:
            self.on_step(self.calls - 1)
        self.calls += 1
        return self.model(x, *args, **kwargs)

    __call__ = forward

    def __getattr__(self, name: str):
        return getattr(self.model, name)


def _to_uint8_frames(video: torch.Tensor, height: int, width: int) -> np.ndarray:
    """(3, T, h, w) in [-1, 1] -> uint8 (T, height, width, 3). The VAEs floor sizes to
    multiples of 8 (240p decodes 424 wide, 480p 848), so missing edge pixels are repeated
    symmetrically to return the requested size."""
    frames = ((video.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    frames = frames.permute(1, 2, 3, 0).cpu().numpy()
    pad_h, pad_w = height - frames.shape[1], width - frames.shape[2]
    pad = ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
    return np.pad(frames, pad, mode="edge")


class OpenSora:
    """Open-Sora v1.1/v1.2; options: version, checkpoint, text_encoder, vae, enable_flash_attn,
    enable_layernorm_kernel, guidance_scale, dtype, text_tokens (see opensora_options)."""

    def __init__(self, **options):
        self.options = parse_options(options)
        self.device = "cpu"
        self.dtype = torch.float32
        self.api: _OpenSoraAPI | None = None
        self.text_encoder = self.model = self.vae = None
        self.checkpoint_local: bool | None = None
        self.warnings: list[str] = []

    # -- loading -----------------------------------------------------------------------------
    def load(self, device: str, phases: Collection[str]) -> None:
        opts, release = self.options, self.options.release
        self.api = api = _import_opensora(opts)
        self.device = device
        self.dtype = resolve_dtype(opts.dtype, device)
        if "encode" in phases:
            # fp32 as Open-Sora builds it ("T5 must be fp32", scripts/inference.py).
            self.text_encoder = api.build_module(
                self._text_encoder_config(),
                api.MODELS,
                model_max_length=opts.text_tokens,
                device=device,
            )
        if "denoise" in phases or "decode" in phases:
            vae = api.build_module(
                {"type": release.vae_type, "from_pretrained": opts.vae, **release.vae_args},
                api.MODELS,
            )
            self.vae = vae.to(device, self.dtype).eval()
        if "denoise" in phases:
            self._check_checkpoint()
            model = api.build_module(
                {
                    "type": release.model_type,
                    "from_pretrained": opts.checkpoint,
                    "enable_flash_attn": opts.enable_flash_attn,
                    "enable_layernorm_kernel": opts.enable_layernorm_kernel,
                    **release.model_args,
                },
                api.MODELS,
                in_channels=self.vae.out_channels,
                caption_channels=T5_XXL_CHANNELS,
                model_max_length=opts.text_tokens,
                enable_sequence_parallelism=False,
            )
            self.model = model.to(device, self.dtype).eval()

    def _text_encoder_config(self) -> dict[str, Any]:
        """Open-Sora's T5Embedder accepts the hub id only (t5.py: `assert from_pretrained in
        available_models`); a local copy is read as a Hugging Face cache directory."""
        path = self.options.text_encoder
        config = {"type": "t5", "from_pretrained": TEXT_ENCODER}
        if os.path.isdir(path):
            return {**config, "cache_dir": path, "local_files_only": True}
        if path != TEXT_ENCODER:
            raise ConfigError(
                f"options.text_encoder: {path!r} is neither {TEXT_ENCODER!r}, the only model "
                "Open-Sora's T5 encoder loads, nor a local directory here; give a Hugging Face "
                "cache directory that holds it"
            )
        return config

    def _check_checkpoint(self) -> None:
        """Decide, as Open-Sora will, whether the checkpoint is local; warn where v1.1 then
        ignores the kernel flags; fail early where a kernel they enable is missing."""
        opts, release = self.options, self.options.release
        path = opts.checkpoint
        kinds = release.local_checkpoint_kinds
        if os.path.isfile(path) and "file" not in kinds:
            raise ConfigError(
                f"options.checkpoint: {path!r} is a file; Open-Sora {opts.version} loads a local "
                "checkpoint only from a directory (STDiT3_XL_2 tests os.path.isdir)"
            )
        self.checkpoint_local = os.path.isdir(path) or os.path.isfile(path)
        flags_apply = self.checkpoint_local or opts.version != "1.1"
        if not flags_apply:
            warning = (
                f"options.checkpoint {path!r} is not a local file or directory here, so Open-Sora "
                "1.1 loads it from the Hugging Face hub with the hub's config and ignores "
                "enable_flash_attn / enable_layernorm_kernel (STDiT2_XL_2 passes no kwargs to "
                "from_pretrained): self-attention takes the naive q @ k^T path and layer norms "
                "are torch's. For the paper's setup give a local .pt/.pth state dict or sharded "
                "checkpoint directory."
            )
            log.warning(warning)
            self.warnings.append(warning)
            return
        fixes = {
            "flash_attn": ("enable_flash_attn", "pip install flash-attn --no-build-isolation"),
            "apex": (
                "enable_layernorm_kernel",
                "build NVIDIA apex with --cpp_ext --cuda_ext (Open-Sora's README)",
            ),
        }
        for module, (flag, fix) in fixes.items():
            if getattr(opts, flag) and find_spec(module) is None:
                raise BackendUnavailable(
                    f"options.{flag} is true but module {module!r} is not installed: {fix} "
                    f"({release.env_file} and its post-deploy script do), or set {flag}: false"
                )

    # -- the three phases --------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, prompt: str) -> dict[str, Any]:
        api, release = self.api, self.options.release
        text = api.text_preprocessing(prompt)  # as scripts/inference.py does
        if api.append_score_to_prompts is not None:
            text = api.append_score_to_prompts([text], aes=release.aesthetic_score)[0]
        out = self.text_encoder.encode([text])  # y (1, 1, tokens, 4096), mask (1, tokens)
        return {
            "y": out["y"].cpu(),
            "mask": out["mask"].cpu(),
            "text_tokens": int(out["mask"].sum()),
        }

    def _model_args(self, shape: VideoShape) -> dict[str, torch.Tensor]:
        """The size conditioning of STDiT2/STDiT3's forward, batch of one."""
        fps = IMAGE_FPS if shape.frames == 1 else CONDITION_FPS
        values = {
            "height": shape.height,
            "width": shape.width,
            "num_frames": shape.frames,
            "ar": shape.height / shape.width,
            "fps": fps,
        }
        return {
            name: torch.tensor([value], device=self.device, dtype=self.dtype)
            for name, value in values.items()
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
        opts, api = self.options, self.api
        problem = frames_problem(opts.version, shape.frames) or steps_problem(opts.version, steps)
        if problem:
            raise ConfigError(problem)
        scheduler = api.build_module(
            {**opts.release.scheduler_args, "num_sampling_steps": steps},
            api.SCHEDULERS,
            cfg_scale=opts.guidance_scale,
        )
        text = _EncodedPrompt(
            embeddings["y"].to(self.device),
            embeddings["mask"].to(self.device),
            self.model.y_embedder,
            api.T5Encoder,
        )
        counter = _StepCounter(self.model, on_step)
        torch.manual_seed(seed)  # IDDPM also draws noise at every step from the global RNG
        latent_size = self.vae.get_latent_size((shape.frames, shape.height, shape.width))
        z = torch.randn(
            1, self.vae.out_channels, *latent_size, device=self.device, dtype=self.dtype
        )
        samples = scheduler.sample(
            counter,
            text,
            z=z,
            prompts=[""],  # one prompt; its text was encoded in `encode`
            device=self.device,
            additional_args=self._model_args(shape),
        )
        if counter.calls != steps:
            raise RuntimeError(
                f"Open-Sora's {opts.release.scheduler_args['type']} sampler called the denoiser "
                f"{counter.calls} times for {steps} steps; per-step windows would be wrong"
            )
        if on_step is not None:
            on_step(steps - 1)
        return samples

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, shape: VideoShape) -> np.ndarray:
        # v1.2's temporal VAE needs the frame count to drop its causal padding.
        kwargs = {"num_frames": shape.frames} if self.options.version == "1.2" else {}
        video = self.vae.decode(latents.to(self.device, self.dtype), **kwargs)
        return _to_uint8_frames(video[0], shape.height, shape.width)

    def first_frame(self, latents: torch.Tensor, shape: VideoShape):
        # (batch, channels, frames, height, width); v1.1's SD VAE decodes frame by frame, and
        # v1.2's causal temporal VAE decodes the first latent frame to the first frame alone.
        return latents[:, :, :1], VideoShape(1, shape.height, shape.width)

    def describe(self) -> dict[str, Any]:
        config = getattr(self.model, "config", None)
        flash = None if config is None else bool(config.enable_flash_attn)
        return {
            "dtype": str(self.dtype).removeprefix("torch."),
            "attention": None
            if config is None
            else f"{'flash-attn' if flash else 'math'} (self), xformers (cross)",
            "params_text_encoder": None
            if self.text_encoder is None
            else parameter_count(self.text_encoder.t5.model),
            "params_transformer": parameter_count(self.model),
            "params_vae": parameter_count(self.vae),
            "text_encoder_dtype": None if self.text_encoder is None else "float32",
            "opensora_version": self.options.version,
            "checkpoint": self.options.checkpoint,
            "checkpoint_local": self.checkpoint_local,
            "enable_flash_attn": flash,
            "enable_layernorm_kernel": None
            if config is None
            else bool(config.enable_layernorm_kernel),
            "warnings": self.warnings,
        }
