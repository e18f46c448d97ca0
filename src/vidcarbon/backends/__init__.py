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
    "opensora": "vidcarbon.backends.opensora:OpenSora",
}

# name -> "module:function(options, key, config)" checking a backend's options against the
# config at DAG build time; such modules import neither torch nor the backend's package.
CONFIG_CHECKS: dict[str, str] = {
    "opensora": "vidcarbon.backends.opensora_options:check_config",
}

_CUSTOM = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

__all__ = [
    "CONFIG_CHECKS",
    "REGISTRY",
    "Backend",
    "VideoShape",
    "check_backend",
    "check_options",
    "create_backend",
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


def check_options(name: str, options: dict, key: str, config: dict) -> None:
    """Raise ConfigError if backend `name` rejects its `options` (config key `key`) or the
    config's device or grid; backends without a check accept anything."""
    if name in CONFIG_CHECKS:
        module_name, function_name = CONFIG_CHECKS[name].split(":")
        getattr(importlib.import_module(module_name), function_name)(options, key, config)


def create_backend(name: str, options: dict, registry: dict[str, str] = REGISTRY) -> Backend:
    """Instantiate the backend `name` (from `registry`) with its config `options`."""
    check_backend(name, registry=registry)
    module_name, class_name = registry.get(name, name).split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**options)
