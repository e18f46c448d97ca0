"""Levers: inference optimisations measured as one more grid dimension.

A lever is a named set of inference options applied to a video model (config `levers:`): a
diffusers cache hook, a scheduler swap with fewer steps, option overrides (guidance, dtype,
attention kernel). Its cells are the baseline cells of `levers.grid` with `Cell.lever` set;
the baseline cells (no lever) are always measured and are what a lever cell is compared
with. This module is torch-free: the Snakefile's parse checks every lever against every
model it applies to (`check_levers`), so a lever that cannot run stops the run before any
job. `backends.lever_hooks` applies a lever inside the measured job.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from typing import Any

from vidcarbon.grid import BASELINE

# diffusers.hooks config class and its fields (diffusers 0.42.1) per cache kind; the
# callbacks are set by the job, not the config.
CACHE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "first_block_cache": ("FirstBlockCacheConfig", ("threshold",)),
    "pyramid_attention_broadcast": (
        "PyramidAttentionBroadcastConfig",
        (
            "spatial_attention_block_skip_range",
            "temporal_attention_block_skip_range",
            "cross_attention_block_skip_range",
            "spatial_attention_timestep_skip_range",
            "temporal_attention_timestep_skip_range",
            "cross_attention_timestep_skip_range",
        ),
    ),
    "faster_cache": (
        "FasterCacheConfig",
        (
            "spatial_attention_block_skip_range",
            "temporal_attention_block_skip_range",
            "spatial_attention_timestep_skip_range",
            "temporal_attention_timestep_skip_range",
            "alpha_low_frequency",
            "alpha_high_frequency",
            "unconditional_batch_skip_range",
            "unconditional_batch_timestep_skip_range",
            "tensor_format",
            "is_guidance_distilled",
        ),
    ),
    "taylorseer_cache": (
        "TaylorSeerCacheConfig",
        (
            "cache_interval",
            "disable_cache_before_step",
            "disable_cache_after_step",
            "max_order",
            "use_lite_mode",
        ),
    ),
    "mag_cache": (
        "MagCacheConfig",
        ("threshold", "max_skip_steps", "retention_ratio", "mag_ratios"),
    ),
}
# scheduler name -> diffusers class, built with `from_config` of the model's own scheduler
SCHEDULERS = {
    "unipc": "UniPCMultistepScheduler",
    "dpm-solver": "DPMSolverMultistepScheduler",
}


@dataclass(frozen=True)
class Support:
    """What levers a backend takes; `no_cache` says why a cache kind is refused."""

    caches: tuple[str, ...]
    schedulers: bool
    options: tuple[str, ...]
    vae: bool = True
    no_cache: dict[str, str] = field(default_factory=dict)
    no_scheduler: str = ""


# Checked on the toy Latte (diffusers 0.42.1, tests/test_levers_runtime.py): pyramid attention
# broadcast skips its attention layers; the others do not apply to it.
_LATTE_NO_CACHE = {
    "first_block_cache": "Latte interleaves spatial and temporal blocks, whose token layouts "
    "differ; diffusers' first-block cache treats them as one sequence and fails",
    "taylorseer_cache": "its layer patterns match none of Latte's layers: it would change nothing",
    "faster_cache": "it needs per-model attention weight callbacks that Latte has not got",
    "mag_cache": "it needs magnitude ratios calibrated for the model, which Latte has not got",
}
SUPPORT: dict[str, Support] = {
    "latte-tiny": Support(
        caches=("pyramid_attention_broadcast",),
        schedulers=True,
        options=("guidance_scale", "dtype"),
        no_cache=_LATTE_NO_CACHE,
    ),
    "diffusers": Support(
        caches=tuple(CACHE_KINDS), schedulers=True, options=("guidance_scale", "dtype", "attention")
    ),
    "opensora": Support(
        caches=(),
        schedulers=False,
        options=("guidance_scale", "dtype", "enable_flash_attn", "enable_layernorm_kernel"),
        no_cache=dict.fromkeys(CACHE_KINDS, "Open-Sora's own model has no diffusers cache hooks"),
        no_scheduler="Open-Sora samples with its own scheduler (IDDPM, rectified flow); "
        "steps_fraction runs fewer of its steps",
        vae=False,
    ),
}
# option value -> the package it needs, where the option names one
_OPTION_PACKAGES = {
    ("attention", "flash"): "flash_attn",
    ("attention", "xformers"): "xformers",
    ("enable_flash_attn", True): "flash_attn",
}


@dataclass(frozen=True)
class Lever:
    """One lever variant of config `levers.variants`.

    cache: {kind, **parameters of its diffusers config}; scheduler: a SCHEDULERS name;
    steps_fraction: the share of the cell's steps run; options: backend option overrides;
    vae: tiling | slicing (the VAE's own enable_tiling / enable_slicing).
    """

    name: str
    cache: dict[str, Any] | None = None
    scheduler: str | None = None
    steps_fraction: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    vae: str | None = None

    def steps_run(self, steps: int) -> int:
        """Denoising steps a cell of `steps` runs under this lever (at least 1)."""
        if self.steps_fraction is None:
            return steps
        return max(1, math.ceil(steps * self.steps_fraction - 1e-9))

    def kinds(self) -> list[str]:
        """What kinds of lever this is: cache, scheduler, steps, and the options it sets."""
        kinds = []
        if self.cache:
            kinds.append(f"cache:{self.cache['kind']}")
        if self.scheduler:
            kinds.append(f"scheduler:{self.scheduler}")
        if self.steps_fraction is not None:
            kinds.append(f"steps:{self.steps_fraction:g}")
        if self.vae:
            kinds.append(f"vae:{self.vae}")
        kinds += [f"{k}={v}" for k, v in sorted(self.options.items())]
        return kinds

    def runtime(self) -> dict[str, Any]:
        """What the measured job applies to the loaded pipeline (`backends.lever_hooks`)."""
        return {"cache": self.cache, "scheduler": self.scheduler, "vae": self.vae}


NO_LEVER = Lever(BASELINE)


def levers(config: dict) -> dict[str, Lever]:
    """The configured levers by name, BASELINE first."""
    variants = (config.get("levers") or {}).get("variants", {})
    found = {BASELINE: NO_LEVER}
    for name, spec in variants.items():
        found[name] = Lever(
            name,
            cache=spec.get("cache"),
            scheduler=spec.get("scheduler"),
            steps_fraction=spec.get("steps_fraction"),
            options=dict(spec.get("options", {})),
            vae=spec.get("vae"),
        )
    return found


def lever_models(config: dict) -> list[str]:
    """The models the levers are measured on (`levers.models`, default every model)."""
    section = config.get("levers") or {}
    return list(section.get("models") or config["models"])


def lever_grid(config: dict) -> dict[str, list]:
    """The grid of the lever cells: `levers.grid`'s lists, the main grid's where unset."""
    subset = (config.get("levers") or {}).get("grid") or {}
    return {key: subset.get(key, values) for key, values in config["grid"].items()}


def model_options(entry: dict, lever: Lever) -> dict[str, Any]:
    """A model entry's backend options under `lever` (its overrides on top)."""
    return {**entry.get("options", {}), **lever.options}


def _support(entry: dict) -> Support | None:
    """What the entry's backend takes; a diffusers Latte (known without the hub) as the toy."""
    if entry["backend"] == "diffusers":
        from vidcarbon.backends.diffusers_spec import known_layout, parse_options

        layout = known_layout(parse_options(entry.get("options", {})))
        if layout is not None and layout.family == "latte":
            return SUPPORT["latte-tiny"]
    return SUPPORT.get(entry["backend"])


def _problems(model: str, entry: dict, lever: Lever) -> list[str]:
    where = f"lever {lever.name!r} on model {model!r} (backend {entry['backend']})"
    support = _support(entry)
    if support is None:
        return [f"{where}: a custom backend's levers are unknown; remove it from levers.models"]
    problems = []
    if lever.cache:
        kind = lever.cache["kind"]
        if kind not in support.caches:
            why = support.no_cache.get(kind, "not supported")
            problems.append(f"{where}: cache {kind!r} does not apply: {why}")
        allowed = CACHE_KINDS[kind][1]
        unknown = sorted(set(lever.cache) - {"kind", *allowed})
        if unknown:
            problems.append(
                f"{where}: cache {kind!r} has no parameter {', '.join(unknown)}; "
                f"allowed: {', '.join(allowed)}"
            )
    if lever.vae and not support.vae:
        problems.append(
            f"{where}: VAE {lever.vae} does not apply: Open-Sora decodes with its own VAE"
        )
    if lever.scheduler and not support.schedulers:
        problems.append(f"{where}: a scheduler swap does not apply: {support.no_scheduler}")
    for name, value in lever.options.items():
        if name not in support.options:
            problems.append(
                f"{where}: option {name!r} is not a lever of this backend; "
                f"allowed: {', '.join(support.options)}"
            )
        package = _OPTION_PACKAGES.get((name, value))
        if package and importlib.util.find_spec(package) is None:
            problems.append(
                f"{where}: option {name}: {value!r} needs package {package!r}, "
                "which is not installed"
            )
    if (lever.cache or lever.scheduler) and importlib.util.find_spec("diffusers") is None:
        problems.append(f"{where}: needs package 'diffusers', which is not installed")
    return problems


def check_levers(config: dict) -> list[str]:
    """Every problem of the configured levers, one line each naming lever, model and why."""
    section = config.get("levers")
    if not section:
        return []
    problems = []
    for model in section.get("models") or []:
        if model not in config["models"]:
            problems.append(
                f"config key 'levers.models': {model!r} is not a configured model; "
                f"allowed: {', '.join(config['models'])}"
            )
    for key, values in (section.get("grid") or {}).items():
        outside = [v for v in values if v not in config["grid"][key]]
        if outside:
            problems.append(
                f"config key 'levers.grid.{key}': {', '.join(map(str, outside))} not in "
                f"grid.{key} ({', '.join(map(str, config['grid'][key]))}); a lever cell is "
                "compared with the baseline cell of the same keys, which the grid measures"
            )
    if importlib.util.find_spec("skimage") is None:
        problems.append(
            "levers: fidelity to the baseline needs package 'scikit-image', which is not "
            "installed (pip install -c constraints.txt -e .)"
        )
    for model in lever_models(config):
        if model not in config["models"]:
            continue
        for lever in levers(config).values():
            if lever.name != BASELINE:
                problems += _problems(model, config["models"][model], lever)
    return problems


def baseline_rows(table):
    """The rows of a table of cells (pandas, with the cell keys) that measure no lever on one
    device: every analysis of the grid reads these; the levers table and the parallel
    analysis compare the others with them."""
    return table[(table["lever"] == BASELINE) & (table["gpus"] == 1)]
