"""Applying a lever to a loaded diffusers pipeline, in the measured job (child side).

Only the libraries' own mechanisms: `CacheMixin.enable_cache` with a `diffusers.hooks` config,
and a scheduler class built `from_config` of the model's own scheduler. The option overrides
of a lever (guidance, dtype, attention) reach the backend as its options instead.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from vidcarbon.levers import CACHE_KINDS, SCHEDULERS

# Pipelines whose __call__ opens no `cache_context` around its denoiser calls (diffusers
# 0.42.1): the job opens one per denoising pass, which the hooks need to hold their state.
_NO_OWN_CACHE_CONTEXT = ("LattePipeline",)
# cache configs that read the current timestep through a callback
_TIMESTEP_CALLBACK = ("pyramid_attention_broadcast", "faster_cache")


def apply_lever(model: Any, lever: dict[str, Any] | None) -> None:
    """Apply `lever` (`Lever.runtime()`: cache, scheduler, vae) to `model.pipe`; None:
    nothing."""
    if not lever or not any(lever.get(k) for k in ("cache", "scheduler", "vae")):
        return
    import diffusers
    import diffusers.hooks

    pipe = model.pipe
    if lever.get("vae"):
        getattr(pipe.vae, f"enable_{lever['vae']}")()
    if lever.get("scheduler"):
        cls = getattr(diffusers, SCHEDULERS[lever["scheduler"]])
        # Only the settings the class takes, less the learned variance (diffusers 0.42):
        # from_config keeps the others in the new config, where LattePipeline reads
        # `variance_type` and then hands UniPC both halves of the model's output; and
        # DPM-Solver's own learned-variance path cuts 3 image channels, not 4 latent ones.
        # Without it, the pipeline hands both the noise prediction, as for DDIM.
        takes = set(inspect.signature(cls.__init__).parameters) - {"variance_type"}
        config = {k: v for k, v in pipe.scheduler.config.items() if k in takes}
        pipe.scheduler = cls.from_config(config)
    if lever.get("cache"):
        params = {k: v for k, v in lever["cache"].items() if k != "kind"}
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        kind = lever["cache"]["kind"]
        if kind in _TIMESTEP_CALLBACK:
            params["current_timestep_callback"] = lambda: pipe.current_timestep
        config = getattr(diffusers.hooks, CACHE_KINDS[kind][0])(**params)
        pipe.transformer.enable_cache(config)


def denoise_context(pipe: Any):
    """The context of one denoising pass: with a cache hook, its state reset (the warm-up pass
    must not feed the measured one) and, where the pipeline opens none, a cache context."""
    transformer = getattr(pipe, "transformer", None)
    if transformer is None or not getattr(transformer, "is_cache_enabled", False):
        return contextlib.nullcontext()
    transformer._reset_stateful_cache()  # the reset diffusers' own pipelines call
    if type(pipe).__name__ in _NO_OWN_CACHE_CONTEXT:
        return transformer.cache_context("cond")
    return contextlib.nullcontext()
