"""Generation backends behind one protocol (see `base.Backend`), looked up by name."""

from __future__ import annotations

import importlib
import importlib.util
import re

from vidcarbon.backends.base import Backend, VideoShape
from vidcarbon.errors import ConfigError

# name -> "module:Class"; imported only when a job needs it, so the DAG builds without torch.
REGISTRY: dict[str, str] = {
    "latte-tiny": "vidcarbon.backends.latte_tiny:LatteTiny",
    "diffusers": "vidcarbon.backends.diffusers_video:DiffusersVideo",
    "opensora": "vidcarbon.backends.opensora:OpenSora",
}
# name -> "module:function(name, entry, requests, config)": checks a model entry and the
# (resolution, height, width, frames) its cells ask for at DAG build, importing neither torch
# nor the backend's package.
CONFIG_CHECKS: dict[str, str] = {
    "diffusers": "vidcarbon.backends.diffusers_spec:check_config",
    "opensora": "vidcarbon.backends.opensora_options:check_config",
}

_CUSTOM = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

__all__ = [
    "CONFIG_CHECKS",
    "REGISTRY",
    "Backend",
    "VideoShape",
    "check_backend",
    "check_model_entry",
    "conda_env",
    "create_backend",
    "random_weights",
]


def check_backend(
    name: str, key: str = "backend", registry: dict[str, str] = REGISTRY, kind: str = "backend"
) -> None:
    """Raise ConfigError unless `name` is in `registry` or an importable 'module:Class' path."""
    if name in registry:
        return
    if _CUSTOM.match(name) and importlib.util.find_spec(name.split(":")[0]) is not None:
        return
    raise ConfigError(
        f"config key '{key}': unknown {kind} {name!r}; allowed: {', '.join(registry)}, "
        "or 'module:Class' naming an importable class that implements vidcarbon.backends.Backend"
    )


def conda_env(entry: dict) -> str:
    """The conda env (path from the repository root) of a model entry's generation jobs:
    Open-Sora's own release env for backend opensora, else envs/generate.yaml."""
    if entry["backend"] == "opensora":
        from vidcarbon.backends.opensora_options import parse_options

        return parse_options(entry.get("options", {})).release.env_file
    return "envs/generate.yaml"


def random_weights(entry: dict) -> bool | None:
    """Whether a model entry generates with random weights (its videos carry no quality
    meaning): the built-in toy backend always, diffusers with `weights: random`; None for a
    custom backend, whose weights this package cannot know."""
    backend = entry["backend"]
    if backend == "latte-tiny":
        return True
    if backend == "diffusers":
        return entry.get("options", {}).get("weights", "pretrained") == "random"
    if backend == "opensora":
        return False
    return None


def create_backend(name: str, options: dict, registry: dict[str, str] = REGISTRY) -> Backend:
    """Instantiate the backend `name` (from `registry`) with its config `options`."""
    check_backend(name, registry=registry)
    module_name, class_name = registry.get(name, name).split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**options)


def check_model_entry(
    name: str, entry: dict, requests: list[tuple[str, int, int, int]], config: dict
) -> None:
    """Check a model entry's options and the (resolution, height, width, frames) its cells ask
    for, where its backend has a torch-free check (ConfigError otherwise)."""
    check = CONFIG_CHECKS.get(entry["backend"])
    if check is not None:
        module_name, function = check.split(":")
        getattr(importlib.import_module(module_name), function)(name, entry, requests, config)
