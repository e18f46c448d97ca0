"""FLOPs per phase, counted with PyTorch's FLOP counter on one probe run per shape.

Per (model, resolution, frames): the text encoding of one prompt (with its unconditional
twin for classifier-free guidance), one denoising step (the CFG batch included) and the
decoding of the whole video. Denoising FLOPs of a cell = steps x the step's FLOPs, exactly,
since every step runs the same operators.

A `diffusers` model is counted on shapes only: its pipeline runs as it would (tokenizer,
latents, scheduler, guidance, on the CPU), but its text encoder, denoiser and VAE are built on
PyTorch's meta device and each of their calls runs there, on shapes without data, and hands
the pipeline zeros of the output's shape. Nothing is computed, so Wan2.1 at full size is
counted in seconds on any CPU with no GPU time; the counts equal those of a real run
(tests/test_flops.py checks it on the tiny Wan, CogVideoX and Latte models).

Open-Sora cannot run here (its package needs CUDA and lives in its own env), so its rows are
counted without it: its T5-XXL encoder and SD VAE decoder are built from their configurations
on PyTorch's meta device (shapes without data, so nothing is computed or downloaded) under the
same counter, and its STDiT2 step comes from `vidcarbon.dit_flops`.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.errors import BackendUnavailable
from vidcarbon.grid import RESOLUTIONS
from vidcarbon.yamlio import parse_yaml

COUNTED = "counted: a probe run under PyTorch's FLOP counter"
COUNTED_ON_SHAPES = (
    "counted on shapes: the pipeline's own calls, its text encoder, denoiser and VAE on the "
    "meta device, under PyTorch's FLOP counter"
)
OPENSORA_V1_1 = (
    "T5-XXL and SD VAE counted on the meta device; STDiT2 step by formula "
    "(vidcarbon.dit_flops); cross-attention at the text_tokens maximum"
)

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


def _zeros_on_cpu(value):
    """`value` with every tensor replaced by CPU zeros of its shape and dtype."""
    import torch

    if isinstance(value, torch.Tensor):
        return torch.zeros(value.shape, dtype=value.dtype)
    if isinstance(value, dict):  # dicts and the libraries' ModelOutput / BaseOutput classes
        items = {key: _zeros_on_cpu(item) for key, item in value.items()}
        return items if type(value) is dict else type(value)(**items)
    if isinstance(value, list | tuple):
        return type(value)(_zeros_on_cpu(item) for item in value)
    return value


def _on_meta(value):
    import torch

    if isinstance(value, torch.Tensor):
        return value.to("meta")
    if isinstance(value, dict):
        return {key: _on_meta(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_on_meta(item) for item in value)
    return value


def _run_on_shapes(module, method: str, ignored: tuple[str, ...] = ()) -> None:
    """Make `module.<method>` (a module on the meta device) take CPU inputs, run on their
    shapes and return CPU zeros of its output's shapes; arguments named in `ignored` are
    dropped."""
    import inspect

    call = getattr(module, method)
    signature = inspect.signature(call)

    def on_shapes(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        for name in ignored:
            bound.arguments.pop(name, None)
        return _zeros_on_cpu(call(*_on_meta(bound.args), **_on_meta(bound.kwargs)))

    setattr(module, method, on_shapes)


def _load_on_shapes(generator, phases: tuple[str, ...]) -> None:
    """Load a DiffusersVideo with its models on the meta device and its pipeline on the CPU."""
    import torch

    generator.load("meta", phases=phases)
    pipe = generator.pipe
    # diffusers 0.42 takes the pipeline's device from its first module (meta here): latents,
    # scheduler and guidance must run on real CPU tensors, whose values they read
    pipeline_class = type(pipe)
    pipe.__class__ = type(
        pipeline_class.__name__,
        (pipeline_class,),
        {"_execution_device": property(lambda self: torch.device("cpu"))},
    )
    generator.device = "cpu"
    # transformers 5.17 reads the text encoder's attention mask values (`mask.all()`), which
    # the meta device has not; the mask changes no FLOP count
    calls = (("text_encoder", "forward", ("attention_mask",)), ("transformer", "forward", ()))
    for name, method, ignored in (*calls, ("vae", "decode", ())):
        module = getattr(pipe, name, None)
        if module is not None:
            _run_on_shapes(module, method, ignored)


def count_phase_flops(
    model: str,
    backend: str,
    options: dict,
    prompt: str,
    shapes: list[tuple[str, int]],
    sizes: dict[str, tuple[int, int]] | None = None,
    device: str = "cpu",
    on_shapes: bool | None = None,
) -> list[dict[str, Any]]:
    """One row per (resolution, frames) with encode, denoise-step and decode FLOPs.

    `sizes`: the model's own (height, width) per resolution name (default RESOLUTIONS).
    `on_shapes`: count on the meta device (the module docstring); default: for `diffusers`
    models. The dtype recorded is the one the model runs in on `device`.
    """
    import torch

    from vidcarbon.backends.tiny_parts import resolve_dtype

    on_shapes = backend == "diffusers" if on_shapes is None else on_shapes
    if backend == "diffusers":
        # FlopCounterMode sees PyTorch's SDPA kernels, not flash-attn's or xformers' (a FLOP
        # count does not depend on the kernel, nor on the weights' values): sdpa for the
        # count; on shapes, the architecture alone counts, so weights are never read
        dtype = str(resolve_dtype(options.get("dtype", "auto"), device)).removeprefix("torch.")
        options = {**options, "attention": "sdpa", "dtype": dtype}
        if on_shapes:
            options["weights"] = "random"
    sizes = sizes or {}

    def loaded(phases: tuple[str, ...]):
        module = create_backend(backend, options)
        if on_shapes:
            _load_on_shapes(module, phases)
        else:
            module.load(device, phases=phases)
        return module

    encoder = loaded(("encode",))
    with flop_counter() as counter:
        embeddings = encoder.encode(prompt)
    encode_flops = counter.get_total_flops()
    del encoder
    generator = loaded(("denoise", "decode"))
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
                    "method": COUNTED_ON_SHAPES if on_shapes else COUNTED,
                }
            )
    return rows


def _meta_counted(build, run) -> int:
    """FLOPs of `run(module)` for the module `build()` makes on the meta device."""
    import torch

    with torch.device("meta"):
        module = build()
    with flop_counter() as counter, torch.no_grad():
        run(module)
    return counter.get_total_flops()


def count_opensora_flops(
    model: str, options: dict, shapes: list[tuple[str, int]], sizes: dict[str, tuple[int, int]]
) -> list[dict[str, Any]]:
    """FLOPs of an Open-Sora v1.1 model without its package (see the module docstring).

    Encode: T5-XXL over `text_tokens` (Open-Sora pads every prompt to that length; the
    unconditional caption is a learned embedding, no second pass). Denoise: one STDiT2 call on
    the guidance batch of 2, its cross-attention over `text_tokens` tokens (an upper bound:
    Open-Sora attends to the prompt's real tokens only). Decode: the SD VAE per frame, the
    latent being the video's size floored to multiples of 8, as Open-Sora's VAE does."""
    import torch
    from diffusers import AutoencoderKL
    from transformers import T5Config, T5EncoderModel

    from vidcarbon.backends.opensora_options import parse_options
    from vidcarbon.dit_flops import STDIT2_XL_2

    opts = parse_options(options, key=f"models.{model}.options")
    if opts.version != "1.1":
        raise BackendUnavailable(
            f"no FLOP formula for Open-Sora {opts.version} (STDiT3 and its 3D VAE); its FLOPs "
            "are not counted"
        )
    # Latte-1 ships the same two parts as Open-Sora 1.1: google/t5-v1_1-xxl and the SD VAE
    # of stabilityai/sd-vae-ft-ema (src/vidcarbon/data/video_architectures.yaml)
    shipped = resources.files("vidcarbon.data").joinpath("video_architectures.yaml").read_text()
    parts = parse_yaml(shipped)["maxin-cn/Latte-1"]["components"]
    tokens = opts.text_tokens
    encode = _meta_counted(
        lambda: T5EncoderModel(T5Config(**parts["text_encoder"]["config"])),
        lambda t5: t5(input_ids=torch.zeros(1, tokens, dtype=torch.long, device="meta")),
    )
    vae_config = parts["vae"]["config"]
    rows = []
    for resolution, frames in shapes:
        height, width = sizes.get(resolution) or RESOLUTIONS[resolution]
        latent = (height // 8, width // 8)
        per_frame = _meta_counted(
            lambda: AutoencoderKL(**vae_config),
            lambda vae, latent=latent: vae.decode(torch.zeros(1, 4, *latent, device="meta")),
        )
        rows.append(
            {
                "model": model,
                "resolution": resolution,
                "frames": frames,
                "encode_flops": encode,
                "denoise_step_flops": STDIT2_XL_2.step_flops(frames, *latent, tokens, batch=2),
                "decode_flops": per_frame * frames,
                "dtype": "bfloat16" if opts.dtype == "auto" else opts.dtype,  # auto: bf16 on cuda
                "method": OPENSORA_V1_1,
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
    """FLOPs of every model: `count_phase_flops`, or `count_opensora_flops` for Open-Sora. A
    model that cannot be counted here is left out, with a warning."""
    rows = []
    for model, spec in models.items():
        try:
            if spec["backend"] == "opensora":
                rows += count_opensora_flops(model, spec.get("options", {}), shapes, sizes[model])
            else:
                rows += count_phase_flops(
                    model, spec["backend"], spec["options"], prompt, shapes, sizes[model], device
                )
        except BackendUnavailable as exc:
            log.warning("FLOPs of model %s not counted: %s", model, exc)
    return rows


def write_flops(
    models: dict[str, dict],
    prompt: str,
    shapes: list[tuple[str, int]],
    sizes: dict[str, dict[str, tuple[int, int]]],
    device: str,
    flops_path: str,
    config_hash: str,
) -> None:
    """Rule count_flops: write flops.parquet, `count_models_flops` of every model."""
    from vidcarbon.tables import provenance, write_table

    rows = count_models_flops(models, prompt, shapes, sizes, device)
    write_table("flops", rows, flops_path, provenance(config_hash, [], []))
