"""Options of the `opensora` backend and the limits of each Open-Sora release, checked without
importing torch or Open-Sora, so that the submitting host validates them at DAG build time.

Release facts come from Open-Sora's inference configs (`configs/opensora-v1-1/inference/sample.py`
at tag v1.1.0, `configs/opensora-v1-2/inference/sample.py` at v1.2.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vidcarbon.errors import ConfigError
from vidcarbon.grid import frames_for


@dataclass(frozen=True)
class Release:
    """What one Open-Sora release builds for text-to-video inference."""

    tag: str  # git tag to install
    env_file: str  # conda env of this repository that installs it
    model_type: str  # MODELS registry name of the denoiser
    checkpoint: str  # hub id of the denoiser's weights
    model_args: dict[str, Any]
    vae_type: str
    vae: str  # hub id of the VAE's weights
    vae_args: dict[str, Any]
    scheduler_args: dict[str, Any]  # SCHEDULERS config, less the steps and the guidance scale
    text_tokens: int  # T5 max length the checkpoint was trained with
    aesthetic_score: float | None = None  # appended to the prompt (v1.2's `aes`)
    local_checkpoint_kinds: tuple[str, ...] = ("directory",)  # what loads as a local checkpoint


RELEASES: dict[str, Release] = {
    "1.1": Release(
        tag="v1.1.0",
        env_file="envs/opensora.yaml",
        model_type="STDiT2-XL/2",
        checkpoint="hpcai-tech/OpenSora-STDiT-v2-stage3",
        model_args={"input_sq_size": 512, "qk_norm": True},
        vae_type="VideoAutoencoderKL",
        vae="stabilityai/sd-vae-ft-ema",
        vae_args={"micro_batch_size": 4},
        scheduler_args={"type": "iddpm", "cfg_channel": 3},
        text_tokens=200,
        # STDiT2_XL_2 loads a .pt/.pth state dict or a ColossalAI sharded directory.
        local_checkpoint_kinds=("file", "directory"),
    ),
    "1.2": Release(
        tag="v1.2.0",
        env_file="envs/opensora-v1.2.yaml",
        model_type="STDiT3-XL/2",
        checkpoint="hpcai-tech/OpenSora-STDiT-v3",
        model_args={"qk_norm": True},
        vae_type="OpenSoraVAE_V1_2",
        vae="hpcai-tech/OpenSora-VAE-v1.2",
        vae_args={"micro_frame_size": 17, "micro_batch_size": 4},
        scheduler_args={"type": "rflow", "use_timestep_transform": True},
        text_tokens=300,
        aesthetic_score=6.5,
    ),
}
TEXT_ENCODER = "DeepFloyd/t5-v1_1-xxl"
DTYPES = ("auto", "bfloat16", "float16", "float32")
# v1.2's rflow timestep transform scales time by num_frames // 17 * 5
# (opensora/schedulers/rf/rectified_flow.py, timestep_transform): 0 for 2-16 frames.
RFLOW_MIN_FRAMES = 17
# v1.1's IDDPM leaves posterior_log_variance_clipped empty for a single step
# (opensora/schedulers/iddpm/gaussian_diffusion.py, GaussianDiffusion.__init__).
IDDPM_MIN_STEPS = 2


@dataclass(frozen=True)
class OpenSoraOptions:
    """The backend's options, with the release's defaults filled in."""

    version: str
    checkpoint: str
    text_encoder: str
    vae: str
    enable_flash_attn: bool
    enable_layernorm_kernel: bool
    guidance_scale: float
    dtype: str  # "auto": bfloat16 on cuda, float32 on cpu
    text_tokens: int

    @property
    def release(self) -> Release:
        return RELEASES[self.version]


ALLOWED = tuple(OpenSoraOptions.__dataclass_fields__)


def _text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_options(options: dict[str, Any], key: str = "options") -> OpenSoraOptions:
    """Check `options` (config key `key`) and fill the release defaults; ConfigError lists
    every problem, each naming its key, the value given and what is allowed."""
    problems = [
        f"config key '{key}.{name}': unknown option; allowed: {', '.join(ALLOWED)}"
        for name in options
        if name not in ALLOWED
    ]

    def bad(name: str, allowed: str) -> None:
        problems.append(f"config key '{key}.{name}': {options[name]!r} is not allowed; {allowed}")

    # YAML reads an unquoted 1.1 as a number.
    version = str(options.get("version", "1.1"))
    if isinstance(options.get("version"), bool) or version not in RELEASES:
        bad("version", f"allowed: {', '.join(RELEASES)}")
        version = "1.1"
    release = RELEASES[version]
    for name in ("checkpoint", "text_encoder", "vae"):
        if options.get(name) is not None and not _text(options[name]):
            bad(name, "it must be a local path or a Hugging Face hub id")
    for name in ("enable_flash_attn", "enable_layernorm_kernel"):
        if name in options and not isinstance(options[name], bool):
            bad(name, "allowed: true, false")
    if "guidance_scale" in options and not (
        _number(options["guidance_scale"]) and options["guidance_scale"] > 0
    ):
        bad("guidance_scale", "it must be a number > 0")
    if "dtype" in options and options["dtype"] not in DTYPES:
        bad("dtype", f"allowed: {', '.join(DTYPES)}")
    if "text_tokens" in options and not (
        isinstance(options["text_tokens"], int)
        and not isinstance(options["text_tokens"], bool)
        and options["text_tokens"] >= 1
    ):
        bad("text_tokens", "it must be an integer >= 1")
    if problems:
        raise ConfigError("invalid options:\n  " + "\n  ".join(problems))
    return OpenSoraOptions(
        version=version,
        checkpoint=options.get("checkpoint") or release.checkpoint,
        text_encoder=options.get("text_encoder") or TEXT_ENCODER,
        vae=options.get("vae") or release.vae,
        enable_flash_attn=options.get("enable_flash_attn", True),
        enable_layernorm_kernel=options.get("enable_layernorm_kernel", True),
        guidance_scale=float(options.get("guidance_scale", 7.0)),
        dtype=options.get("dtype", "auto"),
        text_tokens=options.get("text_tokens", release.text_tokens),
    )


def frames_problem(version: str, frames: int) -> str | None:
    """Why Open-Sora `version` cannot produce a video of `frames` frames; None if it can."""
    if version == "1.2" and 1 < frames < RFLOW_MIN_FRAMES:
        return (
            f"Open-Sora 1.2 cannot produce {frames} frames: its rflow timestep transform "
            "scales time by num_frames // 17 * 5 (rectified_flow.py, timestep_transform), "
            "which is 0 for 2-16 frames, so every timestep becomes 0 and nothing is denoised; "
            f"use 1 frame or at least {RFLOW_MIN_FRAMES} (Open-Sora's 2 s is 51 frames at 24 fps)"
        )
    return None


def steps_problem(version: str, steps: int) -> str | None:
    """Why Open-Sora `version` cannot sample with `steps` denoising steps; None if it can."""
    if version == "1.1" and steps < IDDPM_MIN_STEPS:
        return (
            f"Open-Sora 1.1's IDDPM cannot sample {steps} step: its GaussianDiffusion leaves "
            "posterior_log_variance_clipped empty for one step (gaussian_diffusion.py) and "
            f"sampling fails with an IndexError; use at least {IDDPM_MIN_STEPS} (the cost of "
            "one step is in every run's per-step windows)"
        )
    return None


def check_config(
    name: str, entry: dict[str, Any], requests: list[tuple[str, int, int, int]], config: dict
) -> None:
    """DAG-time checks of model `name` with backend `opensora`: its options, the device, and
    every video length and step count of the grid."""
    key = f"models.{name}.options"
    parsed = parse_options(entry.get("options", {}), key)
    model = f"models.{name}"
    if config.get("device", "cpu") != "cuda":
        raise ConfigError(
            f"config key 'device': {config.get('device', 'cpu')!r} is not allowed with {model} "
            "(backend opensora); Open-Sora's cross-attention calls "
            "xformers.ops.memory_efficient_attention, which has no CPU kernel "
            "(hpcaitech/Open-Sora#228); set device: cuda"
        )
    for duration_s in config["grid"]["durations_s"]:
        problem = frames_problem(parsed.version, frames_for(duration_s, config["fps"]))
        if problem:
            raise ConfigError(
                f"config key 'grid.durations_s': {duration_s} s at {config['fps']} fps with "
                f"{model} (backend opensora): {problem}"
            )
    steps = {"grid.steps": config["grid"]["steps"]}
    steps["measurement.warmup_steps"] = [config["measurement"]["warmup_steps"] or IDDPM_MIN_STEPS]
    for setting, values in steps.items():
        for value in values:
            problem = steps_problem(parsed.version, value)
            if problem:
                raise ConfigError(
                    f"config key '{setting}': {value} with {model} (backend opensora): {problem}"
                )
