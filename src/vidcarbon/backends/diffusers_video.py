"""`diffusers`: a real text-to-video model through its own diffusers pipeline.

The phases are the pipeline's own steps: encode = its `encode_prompt` (prompt and, with
classifier-free guidance, the negative prompt); denoise = its `__call__` from those
embeddings with `output_type="latent"` (guidance exactly as the pipeline does it: one
doubled batch for Latte and CogVideoX, a conditional and an unconditional pass for Wan);
decode = the VAE decode and the pipeline's video post-processing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidcarbon.backends.base import VideoShape
from vidcarbon.backends.diffusers_spec import (
    Layout,
    check_family,
    frames_problem,
    known_layout,
    parse_options,
    read_local,
    size_problem,
    with_overrides,
)
from vidcarbon.backends.lever_hooks import denoise_context
from vidcarbon.backends.tiny_parts import (
    build_tokenizer,
    parameter_count,
    resolve_dtype,
    seed_component,
    to_uint8_frames,
)
from vidcarbon.errors import BackendUnavailable, ConfigError
from vidcarbon.weights import local_snapshot


def _call_default(pipe, name: str):
    """The default of `name` in the pipeline's `__call__`: the model's own setting."""
    return inspect.signature(type(pipe).__call__).parameters[name].default


class _SequenceLengthEncoder:
    """Wan and CogVideoX: `encode_prompt` takes the text length as `max_sequence_length`."""

    def max_text_tokens(self, pipe) -> int:
        return _call_default(pipe, "max_sequence_length")

    def encode(self, pipe, prompt: str, guidance: bool, device: str):
        return pipe.encode_prompt(
            prompt,
            do_classifier_free_guidance=guidance,
            max_sequence_length=self.max_text_tokens(pipe),
            device=device,
        )


class _Wan(_SequenceLengthEncoder):
    frames_argument = "num_frames"
    call_arguments: dict[str, Any] = {}
    xformers_processor = False  # its processors go through diffusers' attention dispatcher

    def decode(self, pipe, latents, frames: int):
        # WanPipeline has no decode method: these are the lines after its denoising loop.
        vae = pipe.vae
        latents = latents.to(vae.dtype)
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1).to(latents)
        std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1).to(latents)
        video = vae.decode(latents * std + mean, return_dict=False)[0]
        return pipe.video_processor.postprocess_video(video, output_type="np")

    def first_frame(self, latents):
        return latents[:, :, :1]  # (batch, channels, frames, height, width)


class _CogVideoX(_SequenceLengthEncoder):
    frames_argument = "num_frames"
    call_arguments: dict[str, Any] = {}
    xformers_processor = False  # joint text-video attention: diffusers has no xformers variant

    def decode(self, pipe, latents, frames: int):
        video = pipe.decode_latents(latents.to(pipe.vae.dtype))
        return pipe.video_processor.postprocess_video(video=video, output_type="np")

    def first_frame(self, latents):
        return latents[:, :1]  # (batch, frames, channels, height, width)


class _Latte:
    frames_argument = "video_length"
    # encode already kept the prompt's tokens; masking given embeddings again fails without
    # guidance (LattePipeline.mask_text_embeddings gets a float mask)
    call_arguments = {"mask_feature": False}
    xformers_processor = True

    def max_text_tokens(self, pipe) -> int:
        return 120  # fixed inside LattePipeline.encode_prompt

    def encode(self, pipe, prompt: str, guidance: bool, device: str):
        # keeps the prompt's tokens only (mask_feature), the negative cut to the same length
        return pipe.encode_prompt(
            prompt, do_classifier_free_guidance=guidance, device=device, clean_caption=False
        )

    def decode(self, pipe, latents, frames: int):
        chunk = _call_default(pipe, "decode_chunk_size")
        video = pipe.decode_latents(latents, video_length=frames, decode_chunk_size=chunk)
        return pipe.video_processor.postprocess_video(video=video, output_type="np")

    def first_frame(self, latents):
        return latents[:, :, :1]  # (batch, channels, frames, height, width)


def _cast(module, dtype: torch.dtype):
    """`module` in `dtype`, except the parts that from_pretrained keeps in float32 (diffusers'
    `_keep_in_fp32_modules`; transformers' `_keep_in_fp32_modules_strict`, and its
    `_keep_in_fp32_modules` for float16), so random weights run the pretrained model's dtypes."""
    if dtype == torch.float32:
        return module
    from transformers import PreTrainedModel

    keep = set(getattr(module, "_keep_in_fp32_modules_strict", None) or ())
    if not isinstance(module, PreTrainedModel) or dtype == torch.float16:
        keep |= set(module._keep_in_fp32_modules or ())
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and not keep.intersection(name.split(".")):
            tensor.data = tensor.data.to(dtype)
    return module


FAMILY_ADAPTERS = {"wan": _Wan(), "cogvideox": _CogVideoX(), "latte": _Latte()}
# components built per phase, and the order (= seed offset) of the random ones
PHASE_COMPONENTS = {
    "encode": ("tokenizer", "text_encoder"),
    "denoise": ("transformer", "scheduler", "vae"),  # the pipelines read the VAE's scale factors
    "decode": ("vae",),
}
SEEDED = ("text_encoder", "transformer", "vae")


class DiffusersVideo:
    """A diffusers text-to-video pipeline (WanPipeline, CogVideoXPipeline, LattePipeline).

    Options (`models.<name>.options`; checked at config validation, see diffusers_spec):
    - model: hub id (Wan-AI/Wan2.1-T2V-1.3B-Diffusers, THUDM/CogVideoX-2b, maxin-cn/Latte-1,
      or another repository of a supported pipeline) or a directory written by save_pretrained.
    - weights: pretrained (default): the checkpoint, read offline from the Hugging Face cache
      that rule fetch_weights fills on the submitting host. random: the same full-size
      architecture with seeded random weights (the cost without the weights). For the three
      models named above it is built from configs embedded in the project
      (data/video_architectures.yaml), so nothing is downloaded, tokenizer included: a
      project-built tokenizer whose ids fit the text encoder's vocabulary (so prompts split
      into other tokens than with the real tokenizer; Wan and CogVideoX pad to a fixed
      length, so their cost does not change). Other models: from their hub configs.
    - revision: hub branch, tag or commit (default: main).
    - dtype: auto (bfloat16 on cuda, float32 on cpu) | bfloat16 | float16 | float32; all components.
    - attention: auto | sdpa | flash | xformers, for the denoiser. Wan's attention goes
      through diffusers' dispatcher (`set_attention_backend`): sdpa = "native" (PyTorch SDPA),
      flash = the flash-attn package, xformers = xformers. Latte's and CogVideoX's processors
      call PyTorch SDPA directly: flash forces PyTorch's own FlashAttention-2 kernel
      (`sdpa_kernel`), recorded as "sdpa-flash"; xformers swaps in diffusers' xformers
      processor (Latte only). auto: on cuda the first that works of flash-attn, xformers,
      sdpa; on cpu sdpa. describe()["attention"] records what ran.
    - guidance_scale: classifier-free guidance weight (> 1 turns it on); default: the
      pipeline's own `__call__` default (Wan 5.0, CogVideoX 6, Latte 7.5).
    - weights_seed: seed of the random weights (one stream per component).
    - architecture: random weights only; overrides of the component configs,
      {transformer: {...}, vae: {...}, text_encoder: {...}, scheduler: {...}} (e.g. a tiny model).
    """

    def __init__(self, **options):
        self.options = parse_options(options)
        self.pipe = None
        self.layout: Layout | None = None
        self.device = "cpu"
        self.dtype = torch.float32
        self.revision: str | None = None
        self.attention: str | None = None
        self._kernel: Callable[[], Any] = contextlib.nullcontext

    # -- loading -----------------------------------------------------------------------------
    def load(self, device: str, phases) -> None:
        self.device = device
        self.dtype = resolve_dtype(self.options.dtype, device)
        wanted = {name for phase in phases for name in PHASE_COMPONENTS[phase]}
        if self.options.weights == "pretrained":
            pipe = self._load_pretrained(wanted)
        else:
            pipe = self._build_random(wanted)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self.family = FAMILY_ADAPTERS[self.layout.family]
        scale = self.options.guidance_scale
        default = _call_default(pipe, "guidance_scale")
        self.guidance_scale = float(default if scale is None else scale)
        if pipe.transformer is not None:
            self._set_attention()

    def _load_pretrained(self, wanted: set[str]):
        import diffusers

        path = local_snapshot(self.options.model, self.options.revision, need_weights=True)
        self.revision = Path(path).name if path != self.options.model else None
        self.layout = read_local(path)
        check_family(self.layout, self.options.model, "options")
        skipped = {name: None for name in self.layout.components if name not in wanted}
        pipeline_class = getattr(diffusers, self.layout.pipeline)
        pipe = pipeline_class.from_pretrained(path, torch_dtype=self.dtype, **skipped)
        return pipe.to(self.device)

    def _build_random(self, wanted: set[str]):
        import diffusers
        import transformers

        layout = known_layout(self.options)
        snapshot = None
        if layout is None:  # another hub model: its configs were fetched, not its weights
            snapshot = local_snapshot(self.options.model, self.options.revision)
            self.revision = Path(snapshot).name
            layout = read_local(snapshot)
            if self.options.architecture:
                layout = with_overrides(layout, self.options.architecture, "options")
        elif Path(self.options.model).is_dir():
            snapshot = self.options.model
        check_family(layout, self.options.model, "options")
        self.layout = layout
        built: dict[str, Any] = {}
        for offset, name in enumerate(SEEDED, start=1):
            spec = layout.components.get(name)
            if spec is None or name not in wanted:
                continue
            seed_component(self.options.weights_seed, offset)
            # built where it runs: a 5.7B-parameter text encoder should not exist twice
            with torch.device(self.device):
                if spec["library"] == "transformers":
                    cls = getattr(transformers, spec["class"])
                    module = cls(cls.config_class(**spec["config"]))
                else:
                    module = getattr(diffusers, spec["class"]).from_config(spec["config"])
            built[name] = _cast(module, self.dtype).eval()
        if "scheduler" in wanted:
            spec = layout.components["scheduler"]
            built["scheduler"] = getattr(diffusers, spec["class"]).from_config(spec["config"])
        if "tokenizer" in wanted:
            built["tokenizer"] = self._tokenizer(snapshot, built.get("text_encoder"))
        pipeline_class = getattr(diffusers, layout.pipeline)
        parameters = inspect.signature(pipeline_class.__init__).parameters
        required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
        return pipeline_class(
            **{name: built.get(name) for name in [*required, *built] if name != "self"}
        )

    def _tokenizer(self, snapshot: str | None, text_encoder):
        if snapshot is not None and (Path(snapshot) / "tokenizer").is_dir():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(Path(snapshot) / "tokenizer")
        tokenizer = build_tokenizer()
        vocab = text_encoder.config.vocab_size
        if vocab < len(tokenizer):
            raise ConfigError(
                f"options.architecture.text_encoder.vocab_size: {vocab} is smaller than the "
                f"built-in tokenizer's {len(tokenizer)} ids; set it to at least {len(tokenizer)}"
            )
        return tokenizer

    # -- attention ---------------------------------------------------------------------------
    def _set_attention(self) -> None:
        transformer = self.pipe.transformer
        dispatched = any(
            hasattr(m.processor, "_attention_backend")
            for m in transformer.modules()
            if hasattr(m, "processor")
        )
        requested = self.options.attention
        if requested != "auto":
            kernel = self._apply_attention(requested, dispatched)
        else:
            kernel = None
            # on cuda the fastest that is installed and works for this model; then PyTorch SDPA
            usable = {
                "flash": dispatched and importlib.util.find_spec("flash_attn") is not None,
                "xformers": (dispatched or self.family.xformers_processor)
                and importlib.util.find_spec("xformers") is not None,
            }
            for candidate in ("flash", "xformers") if self.device == "cuda" else ():
                if usable[candidate] and kernel is None:
                    with contextlib.suppress(BackendUnavailable):
                        kernel = self._apply_attention(candidate, dispatched)
            kernel = kernel or self._apply_attention("sdpa", dispatched)
        processors = {
            type(m.processor).__name__ for m in transformer.modules() if hasattr(m, "processor")
        }
        self.attention = f"{kernel} ({', '.join(sorted(processors))})"

    def _apply_attention(self, requested: str, dispatched: bool) -> str:
        """Make the denoiser use `requested`; the name of the kernel that will run."""
        transformer = self.pipe.transformer
        if dispatched:
            backend = {"sdpa": "native", "flash": "flash", "xformers": "xformers"}[requested]
            try:
                transformer.set_attention_backend(backend)
            except (RuntimeError, ValueError, ImportError) as exc:
                raise BackendUnavailable(
                    f"options.attention: {requested!r} cannot run here ({exc}); install the "
                    "package (flash-attn or xformers, on cuda) or use attention: sdpa"
                ) from exc
            return {"sdpa": "sdpa", "flash": "flash-attn", "xformers": "xformers"}[requested]
        if requested == "flash":
            from torch.nn.attention import SDPBackend, sdpa_kernel

            if self.device == "cuda" and self.dtype == torch.float32:
                raise BackendUnavailable(
                    "options.attention: 'flash' needs bfloat16 or float16 on cuda "
                    "(PyTorch's flash kernel); set dtype: auto or use attention: sdpa"
                )

            self._kernel = lambda: sdpa_kernel([SDPBackend.FLASH_ATTENTION])
            return "sdpa-flash"
        if requested == "xformers":
            if not self.family.xformers_processor:
                raise BackendUnavailable(
                    f"options.attention: 'xformers' is not available for {self.layout.pipeline} "
                    "(diffusers has no xformers version of its attention processor); "
                    "use attention: sdpa or flash"
                )
            try:
                transformer.enable_xformers_memory_efficient_attention()
            except (ModuleNotFoundError, ValueError) as exc:
                raise BackendUnavailable(
                    f"options.attention: 'xformers' cannot run here ({exc}); "
                    "install xformers on a cuda host or use attention: sdpa"
                ) from exc
            return "xformers"
        return "sdpa"

    # -- the three phases --------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, prompt: str) -> dict[str, Any]:
        guidance = self.guidance_scale > 1.0
        prompt_embeds, negative = self.family.encode(self.pipe, prompt, guidance, self.device)
        ids = self.pipe.tokenizer(prompt, add_special_tokens=True).input_ids
        embeddings = {
            "prompt_embeds": prompt_embeds.cpu(),
            "text_tokens": min(len(ids), self.family.max_text_tokens(self.pipe)),
        }
        if negative is not None:
            embeddings["negative_prompt_embeds"] = negative.cpu()
        return embeddings

    def check_shape(self, shape: VideoShape) -> None:
        """ConfigError unless the loaded model can render `shape` exactly."""
        layout = Layout(
            self.layout.pipeline,
            {
                name: {"config": dict(getattr(self.pipe, name).config)}
                for name in ("transformer", "vae")
                if getattr(self.pipe, name, None) is not None
            },
        )
        size = size_problem(layout, shape.height, shape.width)
        frames, nearest = frames_problem(layout, shape.frames)
        problems = [p for p in (size, frames and f"{frames}; nearest: {nearest}") if p]
        if problems:
            raise ConfigError(
                f"{self.options.model} cannot render {shape.frames} frames of "
                f"{shape.height}x{shape.width}: " + "; ".join(problems)
            )

    def denoise(
        self,
        embeddings: dict[str, Any],
        shape: VideoShape,
        steps: int,
        seed: int,
        on_step: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        self.check_shape(shape)
        negative = embeddings.get("negative_prompt_embeds")
        if self.guidance_scale > 1.0 and negative is None:
            raise ValueError(
                "guidance_scale > 1 but the embeddings have no negative_prompt_embeds: "
                "encode the prompt with the same options as the generation"
            )
        generator = torch.Generator(device=self.device).manual_seed(seed)

        def callback(pipe, i, t, kwargs):
            if on_step is not None:
                on_step(i)
            return kwargs

        with torch.inference_mode(), self._kernel(), denoise_context(self.pipe):
            return self.pipe(
                prompt_embeds=embeddings["prompt_embeds"].to(self.device, self.dtype),
                negative_prompt=None,
                negative_prompt_embeds=(
                    None if negative is None else negative.to(self.device, self.dtype)
                ),
                num_inference_steps=steps,
                height=shape.height,
                width=shape.width,
                guidance_scale=self.guidance_scale,
                generator=generator,
                output_type="latent",
                callback_on_step_end=callback,
                return_dict=False,
                **{self.family.frames_argument: shape.frames},
                **self.family.call_arguments,
            )[0]

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, shape: VideoShape) -> np.ndarray:
        video = self.family.decode(self.pipe, latents.to(self.device), shape.frames)[0]
        if video.shape[0] != shape.frames:
            raise RuntimeError(
                f"the VAE decoded {video.shape[0]} frames, {shape.frames} were asked for"
            )
        return to_uint8_frames(video, shape.height, shape.width)

    def first_frame(self, latents: torch.Tensor, shape: VideoShape):
        return self.family.first_frame(latents), VideoShape(1, shape.height, shape.width)

    def describe(self) -> dict[str, Any]:
        pipe = self.pipe
        return {
            "dtype": str(self.dtype).removeprefix("torch."),
            "attention": self.attention,
            "params_text_encoder": parameter_count(pipe.text_encoder),
            "params_transformer": parameter_count(pipe.transformer),
            "params_vae": parameter_count(pipe.vae),
            "model": self.options.model,
            "weights": self.options.weights,
            "revision": self.revision,
            "pipeline": self.layout.pipeline,
            "guidance_scale": self.guidance_scale,
        }
