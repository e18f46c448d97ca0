"""Options of the `diffusers` backend, the model layouts it knows, and the video sizes each
family can produce.

Torch-free, so a configuration is checked when Snakemake parses it (`snakemake -n` fails
before any job runs) and again by the job, against the components it actually loaded.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from vidcarbon.errors import ConfigError
from vidcarbon.yamlio import parse_yaml

# diffusers pipeline class -> family; each family is one adapter in diffusers_video.py.
FAMILIES = {"WanPipeline": "wan", "CogVideoXPipeline": "cogvideox", "LattePipeline": "latte"}
WEIGHTS = ("pretrained", "random")
DTYPES = ("auto", "bfloat16", "float16", "float32")
ATTENTION = ("auto", "sdpa", "flash", "xformers")
ARCHITECTURE_COMPONENTS = ("transformer", "vae", "text_encoder", "scheduler")
OPTIONS = (
    "model",
    "weights",
    "revision",
    "dtype",
    "attention",
    "guidance_scale",
    "weights_seed",
    "architecture",
)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# What a diffusers pipeline reads from a hub repository (no duplicate .bin/.pth weights,
# no sample media); the weights only with `weights: pretrained`.
CONFIG_PATTERNS = ["model_index.json", "*/*.json", "*/*.txt", "*/*.model"]
WEIGHT_PATTERNS = ["*/*.safetensors"]
# AutoencoderKLCogVideoX decodes latent frames in pairs (num_latent_frames_batch_size = 2): L
# latent frames decode to 2*ratio*(L//2) + L%2 frames (diffusers 0.42.1; 5 frames -> 8, 13 -> 16;
# tests/test_diffusers_video.py checks this against the VAE).
COGVIDEOX_LATENT_FRAMES_PER_DECODE = 2


@dataclass(frozen=True)
class DiffusersOptions:
    """The `options` of a `diffusers` model entry (see DiffusersVideo for their meaning)."""

    model: str
    weights: str = "pretrained"
    revision: str | None = None
    dtype: str = "auto"
    attention: str = "auto"
    guidance_scale: float | None = None
    weights_seed: int = 0
    architecture: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """A pipeline's diffusers layout: its class and, per component, library, class and config."""

    pipeline: str
    components: dict[str, dict[str, Any]]
    native: dict[str, int] | None = None

    @property
    def family(self) -> str | None:
        return FAMILIES.get(self.pipeline)

    def config(self, component: str) -> dict[str, Any]:
        return self.components.get(component, {}).get("config", {})


def _bad(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"config key '{key}': {value!r} is not allowed; allowed: {allowed}")


def parse_options(options: dict[str, Any], key: str = "options") -> DiffusersOptions:
    """Check the options' names, types and values; ConfigError names the key and the fix."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(
            f"config key '{key}': unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(OPTIONS)}"
        )
    model = options.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(
            f"config key '{key}.model' is required: a hub id (e.g. "
            f"{next(iter(_embedded()))}) or a local diffusers directory"
        )
    if not Path(model).is_dir() and not HUB_ID.match(model):
        raise ConfigError(
            f"config key '{key}.model': {model!r} is neither a local directory nor a hub id "
            "of the form org/name; give an existing directory saved with save_pretrained or "
            f"a hub id, e.g. {', '.join(_embedded())}"
        )
    for name, allowed in (("weights", WEIGHTS), ("dtype", DTYPES), ("attention", ATTENTION)):
        if name in options and options[name] not in allowed:
            raise _bad(f"{key}.{name}", options[name], ", ".join(allowed))
    scale = options.get("guidance_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
        raise _bad(f"{key}.guidance_scale", scale, "a number, or null for the pipeline's default")
    seed = options.get("weights_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _bad(f"{key}.weights_seed", seed, "an integer >= 0")
    revision = options.get("revision")
    if revision is not None and not isinstance(revision, str):
        raise _bad(f"{key}.revision", revision, "a branch, tag or commit of the hub repository")
    return DiffusersOptions(
        **{k: v for k, v in options.items() if k != "architecture"},
        architecture=_parse_architecture(options, key),
    )


def _parse_architecture(options: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    architecture = options.get("architecture") or {}
    if not architecture:
        return {}
    if options.get("weights", "pretrained") != "random":
        raise ConfigError(
            f"config key '{key}.architecture': overrides change the model, so they need "
            "weights: random (pretrained weights fit only their own architecture)"
        )
    if not isinstance(architecture, dict):
        raise _bad(f"{key}.architecture", architecture, "a mapping component -> {parameter: value}")
    for component, overrides in architecture.items():
        if component not in ARCHITECTURE_COMPONENTS:
            raise _bad(f"{key}.architecture", component, ", ".join(ARCHITECTURE_COMPONENTS))
        if not isinstance(overrides, dict):
            raise _bad(f"{key}.architecture.{component}", overrides, "a mapping parameter -> value")
    return copy.deepcopy(architecture)


@cache
def _embedded() -> dict[str, dict[str, Any]]:
    text = resources.files("vidcarbon.data").joinpath("video_architectures.yaml").read_text()
    return parse_yaml(text)


def embedded_models() -> list[str]:
    """Hub ids whose architecture ships with the project (random weights without a download)."""
    return list(_embedded())


def read_local(path: str | Path) -> Layout:
    """The layout of a diffusers directory (model_index.json and each component's config)."""
    path = Path(path)
    index = json.loads((path / "model_index.json").read_text())
    components = {}
    for name, value in index.items():
        if name.startswith("_") or not (isinstance(value, list) and len(value) == 2):
            continue
        if value[0] is None:
            continue
        filename = "scheduler_config.json" if name == "scheduler" else "config.json"
        config_file = path / name / filename
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        components[name] = {"library": value[0], "class": value[1], "config": config}
    return Layout(index["_class_name"], components)


def with_overrides(layout: Layout, architecture: dict[str, dict[str, Any]], key: str) -> Layout:
    """`layout` with the `architecture` overrides merged in; unknown names are errors (diffusers
    would silently ignore a misspelt hyper-parameter)."""
    components = copy.deepcopy(layout.components)
    for component, overrides in architecture.items():
        if component not in components:
            raise _bad(f"{key}.architecture", component, ", ".join(components))
        config = components[component]["config"]
        unknown = sorted(set(overrides) - set(config))
        if unknown:
            raise ConfigError(
                f"config key '{key}.architecture.{component}': unknown parameter(s) "
                f"{', '.join(unknown)}; allowed: {', '.join(sorted(config))}"
            )
        config.update(overrides)
    return Layout(layout.pipeline, components, layout.native)


def known_layout(opts: DiffusersOptions, key: str = "options") -> Layout | None:
    """The layout this entry will build or load, where it is known without the hub: embedded
    (the named models) or a local directory; None for other hub ids (checked by the job)."""
    if Path(opts.model).is_dir():
        layout = read_local(opts.model)
    elif opts.model in _embedded():
        entry = _embedded()[opts.model]
        layout = Layout(entry["pipeline"], copy.deepcopy(entry["components"]), entry["native"])
    else:
        return None
    return with_overrides(layout, opts.architecture, key) if opts.architecture else layout


def check_family(layout: Layout, model: str, key: str) -> str:
    if layout.family is None:
        raise ConfigError(
            f"config key '{key}.model': {model!r} is a {layout.pipeline}, not a supported "
            f"text-to-video family; supported pipelines: {', '.join(FAMILIES)}"
        )
    return layout.family


def _spatial_multiple(layout: Layout) -> int:
    """Height and width must be multiples of the VAE's downsampling x the transformer's patch."""
    vae, transformer = layout.config("vae"), layout.config("transformer")
    if layout.family == "wan":
        downsample = vae.get("scale_factor_spatial", 8)
        patch = transformer.get("patch_size", [1, 2, 2])[1]
    else:
        downsample = 2 ** (len(vae.get("block_out_channels", [0] * 4)) - 1)
        patch = transformer.get("patch_size", 2)
    return downsample * patch


def frame_rule(layout: Layout) -> tuple[str, Any]:
    """(the rule in words, a test of a frame count) of the whole videos the family decodes."""
    vae, transformer = layout.config("vae"), layout.config("transformer")
    if layout.family == "wan":
        ratio = vae.get("scale_factor_temporal", 4)
        return f"{ratio}k+1 (VAE {ratio}x in time)", lambda f: (f - 1) % ratio == 0
    if layout.family == "cogvideox":
        ratio = vae.get("temporal_compression_ratio", 4)
        pair = ratio * COGVIDEOX_LATENT_FRAMES_PER_DECODE
        patch_t = transformer.get("patch_size_t") or 1

        def ok(f: int) -> bool:
            latent = (f - 1) // ratio + 1
            decoded = pair * (latent // 2) + latent % 2
            return decoded == f and latent % patch_t == 0

        return (
            f"{pair}k or {pair}k+1 (the VAE decodes latent frames in pairs of {pair} frames, "
            "plus 1 for an odd first latent frame)",
            ok,
        )
    length = transformer.get("video_length", 16)
    return f"exactly {length} (the temporal position table's length)", lambda f: f == length


def size_problem(layout: Layout, height: int, width: int) -> str | None:
    """What is wrong with frames of `height` x `width` pixels (None: nothing)."""
    multiple = _spatial_multiple(layout)
    if not (height % multiple or width % multiple):
        return None

    def near(n: int) -> str:
        down, up = n // multiple * multiple, -(-n // multiple) * multiple
        return str(n) if down == up else f"{down} or {up}"

    return (
        f"{height}x{width} pixels: height and width must be multiples of {multiple} "
        f"(VAE downsampling x patch); nearest: height {near(height)}, width {near(width)}"
    )


def frames_problem(layout: Layout, frames: int) -> tuple[str | None, list[int]]:
    """What is wrong with a video of `frames` frames (None: nothing), and the nearest valid
    counts below and above."""
    words, ok = frame_rule(layout)
    if ok(frames):
        return None, []
    below = next((f for f in range(frames - 1, 0, -1) if ok(f)), None)
    above = next((f for f in range(frames + 1, frames + 257) if ok(f)), None)
    nearest = [f for f in (below, above) if f is not None]
    return f"{frames} frames: frame counts must be {words}", nearest


def check_config(
    name: str, entry: dict[str, Any], requests: list[tuple[str, int, int, int]], config: dict
) -> None:
    """Validate a `diffusers` model entry and every (resolution, height, width, frames) its
    cells ask for; ConfigError with the key, what was asked, what the model can do, the fix."""
    fps = config["fps"]
    key = f"models.{name}.options"
    opts = parse_options(entry.get("options", {}), key)
    layout = known_layout(opts, key)
    if layout is None:
        return
    check_family(layout, opts.model, key)
    native = layout.native
    trained = (
        f" (trained at {native['height']}x{native['width']}, {native['frames']} frames, "
        f"{native['fps']} fps)"
        if native
        else ""
    )
    prefix = f"config key 'models.{name}': {opts.model}{trained} cannot render"
    messages = []
    for resolution, height, width in sorted({r[:3] for r in requests}):
        problem = size_problem(layout, height, width)
        if problem:
            messages.append(
                f"{prefix} {resolution}: {problem}; fix: declare models.{name}.resolutions: "
                f"{{{resolution}: [height, width]}} with a valid size, or drop the resolution"
            )
    for frames in sorted({r[3] for r in requests}):
        problem, nearest = frames_problem(layout, frames)
        if problem:
            options = " or ".join(f"{f} ({f / fps:g} s)" for f in nearest)
            messages.append(
                f"{prefix} {frames / fps:g} s at {fps} fps: {problem}; nearest: {options}; "
                "fix: choose grid.durations_s (and fps) that give such counts"
            )
    if messages:
        raise ConfigError("\n  ".join(messages))


def download_patterns(opts: DiffusersOptions) -> list[str] | None:
    """The files a job will read (allow_patterns; a local directory has them all), or None
    where nothing is read: random weights of an embedded architecture."""
    if opts.weights == "pretrained":
        return CONFIG_PATTERNS + WEIGHT_PATTERNS
    embedded = opts.model in _embedded() and not Path(opts.model).is_dir()
    return None if embedded else CONFIG_PATTERNS
