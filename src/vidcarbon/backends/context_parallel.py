"""Context parallelism on a loaded diffusers pipeline, in one rank of a parallel cell.

Only the library's own mechanism: `ContextParallelConfig` and the transformer's
`enable_parallelism`, which splits the sequence along the transformer's `_cp_plan` (Ulysses:
an all-to-all over attention heads; ring: key/value blocks passed round the ranks).
"""

from __future__ import annotations

import contextlib
from typing import Any
from unittest import mock

from vidcarbon.errors import BackendUnavailable

# diffusers 0.42.1 attention backends (attention_dispatch.py) that run context parallelism,
# and of those the ones that return the log-sum-exp that ring attention merges blocks with
# (its native SDPA path does not).
CONTEXT_PARALLEL_BACKENDS = {"flash", "native", "_native_cudnn", "_native_flash", "sage"}
RETURNS_LSE = CONTEXT_PARALLEL_BACKENDS - {"native"}


def enable_context_parallel(model: Any, ulysses: int = 1, ring: int = 1) -> None:
    """Split `model.pipe.transformer` over the process group's ranks (ulysses x ring of
    them); BackendUnavailable where the transformer has no context-parallel plan.

    An attention kernel that cannot run split (xformers), or ring attention on PyTorch's
    SDPA, is swapped for one that can (SDPA; PyTorch's flash kernel for ring), and
    `model.attention` says so."""
    import torch
    from diffusers import ContextParallelConfig

    transformer = model.pipe.transformer
    if not getattr(type(transformer), "_cp_plan", None):
        raise BackendUnavailable(
            f"{type(transformer).__name__} has no context-parallel plan in diffusers "
            "(its `_cp_plan`): it cannot run on several devices"
        )
    backend = _backend(transformer)
    wanted = RETURNS_LSE if ring > 1 else CONTEXT_PARALLEL_BACKENDS
    if backend not in wanted:
        swap = "_native_flash" if ring > 1 else "native"
        transformer.set_attention_backend(swap)
        why = "ring attention needs its log-sum-exp" if ring > 1 else "it cannot run split"
        model.attention = f"{model.attention}; {swap} under context parallelism ({backend}: {why})"
    config = ContextParallelConfig(ulysses_degree=ulysses, ring_degree=ring)
    with _device_count_on_cpu(torch):
        transformer.enable_parallelism(config=config)


def _backend(transformer) -> str:
    """The attention backend the transformer's processors dispatch to."""
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    for module in transformer.modules():
        backend = getattr(getattr(module, "processor", None), "_attention_backend", None)
        if backend is not None:
            return getattr(backend, "value", backend)
    return _AttentionBackendRegistry.get_active_backend()[0].value


def _device_count_on_cpu(torch):
    """diffusers 0.42.1 places rank r on accelerator `r % torch.accelerator.device_count()`
    (ModelMixin._resolve_parallel_config), which is 0 without an accelerator: there (the
    CPU tests, gloo) every rank's device is the CPU, so the count is taken as 1."""
    if torch.accelerator.device_count() > 0:
        return contextlib.nullcontext()
    return mock.patch.object(torch.accelerator, "device_count", return_value=1)
