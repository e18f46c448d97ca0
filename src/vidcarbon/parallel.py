"""Context parallelism: one video generated on several devices, as one more grid dimension.

A cell's layout is its Ulysses and ring degrees (`Cell.ulysses`, `Cell.ring`); it runs on
`gpus` = ulysses x ring devices, one process each, launched by torch's own launcher
(`vidcarbon.process.ranks`); the denoiser's sequence is split across them by diffusers'
context parallelism (`ContextParallelConfig`, the transformer's `_cp_plan`). Config
`parallel:` names the layouts, the models and the subset of the grid they are measured on;
the one-device cell of the same keys is always measured and is what a layout is compared
with. This module is torch-free: the Snakefile's parse refuses a layout that cannot run
(`check_parallel`) before any job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# diffusers 0.42.1: the families whose transformer has a context-parallel plan (`_cp_plan`);
# tests/test_parallel.py checks this against the installed diffusers.
CP_TRANSFORMERS = {"wan": "WanTransformer3DModel"}
NO_PLAN = {
    "cogvideox": "diffusers' CogVideoXTransformer3DModel has no context-parallel plan",
    "latte": "diffusers' LatteTransformer3DModel has no context-parallel plan",
}


@dataclass(frozen=True)
class ParallelLayout:
    """How one video is split over devices: Ulysses (all-to-all over heads) x ring (K/V
    passed round) degrees, one device per rank."""

    ulysses: int = 1
    ring: int = 1

    @property
    def gpus(self) -> int:
        return self.ulysses * self.ring

    @property
    def name(self) -> str:
        return f"{self.gpus} devices (ulysses {self.ulysses} x ring {self.ring})"


ONE_DEVICE = ParallelLayout()


def layouts(config: dict) -> list[ParallelLayout]:
    """The configured layouts (`parallel.layouts`), without the one-device layout."""
    section = config.get("parallel") or {}
    return [
        ParallelLayout(spec.get("ulysses", 1), spec.get("ring", 1))
        for spec in section.get("layouts", [])
    ]


def parallel_models(config: dict) -> list[str]:
    """The models the layouts are measured on (`parallel.models`, default every model)."""
    section = config.get("parallel") or {}
    return list(section.get("models") or config["models"])


def parallel_grid(config: dict) -> dict[str, list]:
    """The grid of the parallel cells: `parallel.grid`'s lists, the main grid's where unset."""
    subset = (config.get("parallel") or {}).get("grid") or {}
    return {key: subset.get(key, values) for key, values in config["grid"].items()}


def denoiser_tokens(transformer: dict[str, Any], vae: dict[str, Any], shape) -> int:
    """Tokens of one video in a Wan transformer's sequence (the dimension split across ranks):
    latent frames x latent height / patch x latent width / patch. `shape`: frames, height,
    width in pixels."""
    frames, height, width = shape
    t_patch, h_patch, w_patch = transformer.get("patch_size", [1, 2, 2])
    temporal, spatial = vae.get("scale_factor_temporal", 4), vae.get("scale_factor_spatial", 8)
    latent_frames = (frames - 1) // temporal + 1
    return (
        math.ceil(latent_frames / t_patch)
        * (height // spatial // h_patch)
        * (width // spatial // w_patch)
    )


def _model_problems(
    model: str, entry: dict, found: list[ParallelLayout], shapes: list[tuple[int, int, int]]
) -> list[str]:
    """Why `model` cannot run the layouts `found` on the pixel shapes (frames, height, width)."""
    where = f"config key 'parallel': model {model!r} (backend {entry['backend']})"
    if entry["backend"] != "diffusers":
        return [
            f"{where} has no context-parallel plan; layouts need a diffusers model whose "
            f"transformer has one ({', '.join(CP_TRANSFORMERS.values())}); remove it from "
            "parallel.models"
        ]
    from vidcarbon.backends.diffusers_spec import known_layout, parse_options

    layout = known_layout(parse_options(entry.get("options", {})))
    if layout is None:  # a hub id not embedded: the job checks what it loaded
        return []
    if layout.family not in CP_TRANSFORMERS:
        why = NO_PLAN.get(layout.family, f"{layout.pipeline} has no context-parallel plan")
        return [f"{where}: {why}; remove it from parallel.models"]
    transformer, vae = layout.config("transformer"), layout.config("vae")
    heads = transformer.get("num_attention_heads")
    problems = []
    for p in found:
        if heads and heads % p.ulysses:
            problems.append(
                f"{where}, layout {p.name}: its {heads} attention heads do not divide by the "
                f"Ulysses degree {p.ulysses} (each rank takes heads / ulysses of them)"
            )
        for frames, height, width in shapes:
            tokens = denoiser_tokens(transformer, vae, (frames, height, width))
            if tokens % p.gpus:
                problems.append(
                    f"{where}, layout {p.name}: {height}x{width}, {frames} frames is a "
                    f"sequence of {tokens} tokens, which does not divide by {p.gpus} ranks; "
                    "choose another shape in parallel.grid or another layout"
                )
    return problems


def check_parallel(config: dict, shapes: dict[str, list[tuple[int, int, int]]]) -> list[str]:
    """Every problem of the configured layouts, one line each naming layout, model and why.
    `shapes[model]`: the (frames, height, width) in pixels of the model's parallel cells."""
    section = config.get("parallel")
    if not section:
        return []
    problems = []
    for spec in section.get("layouts", []):
        if spec.get("ulysses", 1) * spec.get("ring", 1) == 1:
            problems.append(
                f"config key 'parallel.layouts': {spec} is one device, which every cell of "
                "parallel.grid measures anyway; give ulysses or ring > 1"
            )
        if spec.get("ring", 1) > 1 and config["device"] == "cpu":
            problems.append(
                f"config key 'parallel.layouts': {spec}: ring attention needs an attention "
                "kernel that returns its log-sum-exp, which diffusers has only on GPUs "
                "(flash-attn, PyTorch's flash or cuDNN kernel); with device: cpu use ulysses"
            )
    for model in section.get("models") or []:
        if model not in config["models"]:
            problems.append(
                f"config key 'parallel.models': {model!r} is not a configured model; "
                f"allowed: {', '.join(config['models'])}"
            )
    for key, values in (section.get("grid") or {}).items():
        outside = [v for v in values if v not in config["grid"][key]]
        if outside:
            problems.append(
                f"config key 'parallel.grid.{key}': {', '.join(map(str, outside))} not in "
                f"grid.{key} ({', '.join(map(str, config['grid'][key]))}); a layout's cell is "
                "compared with the one-device cell of the same keys, which the grid measures"
            )
    for model in parallel_models(config):
        if model in config["models"]:
            problems += _model_problems(
                model, config["models"][model], layouts(config), shapes.get(model, [])
            )
    return problems


def one_device_rows(table):
    """The rows of a table of cells (pandas, with a `gpus` column) measured on one device."""
    return table[table["gpus"] == 1]
