"""Configuration: schema validation with messages that name the key; values derived from it."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from vidcarbon import grid, levers, parallel
from vidcarbon.backends import check_backend, check_model_entry
from vidcarbon.carbon.embodied import check_sources
from vidcarbon.defaults import SCHEMA_DEFAULTS
from vidcarbon.errors import ConfigError
from vidcarbon.prompts import Prompt, read_prompts
from vidcarbon.workloads.text.models import check_spec as check_llm_spec
from vidcarbon.yamlio import parse_yaml

DEFAULT_CONFIG = "config/config.yaml"
# What defines a study's measured rows: a change to any of these is another study. Carbon,
# analysis, comparison and quality settings are not in it (they re-derive the same rows).
STUDY_KEYS = (
    "device",
    "fps",
    "models",
    "grid",
    "levers",
    "parallel",
    "measurement",
    "llm",
    "image",
)


def in_workdir(path: str | Path) -> Path:
    """`path` relative to the working directory when inside it (as a user names it)."""
    path = Path(path).absolute()
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def read_config_file(path: str | Path) -> dict:
    """Parse a YAML config file; a syntax error names the file, the line and the column."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    try:
        data = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        what = " ".join(filter(None, (exc.context, exc.problem)))
        raise ConfigError(f"{path}, {where}: not valid YAML: {what}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config is a mapping of keys (device, models, grid, ...), "
            f"not {type(data).__name__}"
        )
    return data


def _key(path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    """One line: which key, which value, what is allowed."""
    key = _key(error.absolute_path)
    v, arg = error.validator, error.validator_value
    value = error.instance
    if v == "enum":
        return f"config key '{key}': {value!r} is not allowed; allowed: {', '.join(map(str, arg))}"
    if v == "type":
        return f"config key '{key}': {value!r} must be of type {arg}"
    if v in ("minimum", "exclusiveMinimum"):
        op = ">=" if v == "minimum" else ">"
        return f"config key '{key}': {value!r} is not allowed; it must be {op} {arg}"
    if v in ("minItems", "minProperties"):
        return f"config key '{key}': is empty; list at least one value"
    if v == "uniqueItems":
        return f"config key '{key}': {value!r} repeats a value; list each value once"
    if v == "required":
        return f"config key '{key}': {error.message}"
    if v == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"config key '{key}': {error.message}; allowed keys: {allowed}"
    return f"config key '{key}': {error.message}"


def _fill_defaults(instance: Any, schema: dict) -> None:
    """Set the schema's `default` values for absent keys, recursively (objects only)."""
    if not isinstance(instance, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = json.loads(json.dumps(sub["default"]))
        if name in instance:
            _fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for name, value in instance.items():
            if name not in schema.get("properties", {}):
                _fill_defaults(value, extra)


def load_schema(schema_path: str | Path) -> dict:
    """The config schema, with the defaults of `vidcarbon.defaults.SCHEMA_DEFAULTS` set (the
    schema file leaves those out, so each has one source)."""
    schema = parse_yaml(Path(schema_path).read_text())
    for key, value in SCHEMA_DEFAULTS.items():
        node = schema
        for part in key.split("."):
            node = node["properties"][part]
        node["default"] = value
    return schema


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validate `config` in place (filling defaults); raise ConfigError listing every problem."""
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(map(_describe, errors)))
    _fill_defaults(config, schema)
    problems = _duration_problems(config["grid"]["durations_s"], config["fps"])
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    for name, model in config["models"].items():
        check_backend(model["backend"], key=f"models.{name}.backend")
    prompts = read_prompts(config["prompts"])
    requests: dict[str, set] = {name: set() for name in config["models"]}
    for cell in cells(config, prompts[:1]):
        requests[cell.model].add((cell.resolution, cell.height, cell.width, cell.frames))
    problems = []
    for name, model in config["models"].items():
        try:
            check_model_entry(name, model, sorted(requests[name]), config)
        except ConfigError as exc:
            problems.append(str(exc))
    for name, spec in (config.get("llm") or {}).get("models", {}).items():
        try:
            check_llm_spec(name, spec)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("invalid model configuration:\n  " + "\n  ".join(problems))
    problems = levers.check_levers(config)
    if problems:
        raise ConfigError("invalid lever configuration:\n  " + "\n  ".join(problems))
    shapes: dict[str, set] = {name: set() for name in config["models"]}
    for cell in cells(config, prompts[:1]):
        if cell.gpus > 1:
            shapes[cell.model].add((cell.frames, cell.height, cell.width))
    problems = parallel.check_parallel(config, {m: sorted(s) for m, s in shapes.items()})
    if problems:
        raise ConfigError("invalid parallel configuration:\n  " + "\n  ".join(problems))
    cpu_measurement(config)
    return config


def _duration_problems(durations_s: list[float], fps: int) -> list[str]:
    """A duration must give a whole number of frames at `fps` (else the video silently has
    another length than asked); each problem names the nearest durations that do."""
    problems = []
    for i, duration in enumerate(durations_s):
        frames = duration * fps
        if round(frames) >= 1 and math.isclose(frames, round(frames), abs_tol=1e-6):
            continue
        nearest = sorted({max(1, math.floor(frames)), max(1, math.ceil(frames))})
        options = " or ".join(f"{n / fps:g} s ({n} frames)" for n in nearest)
        problems.append(
            f"config key 'grid.durations_s[{i}]': {duration:g} s at {fps} fps is {frames:g} "
            f"frames, not a whole number; nearest: {options}"
        )
    return problems


# Settings that name a grid value: key -> (grid list, preferred value when unset, and the pick
# when the grid lacks it). A narrowed grid thus keeps working; an explicit value must be in it.
# The preferred values are the paper's: 240p and 2 s for RQ3 and the credits, and Open-Sora's
# default of 100 denoising steps.
GRID_REFERENCES = {
    "analysis.reference_resolution": ("resolutions", "240p", "the first"),
    "carbon.credits.reference_resolution": ("resolutions", "240p", "the first"),
    "carbon.credits.reference_duration_s": ("durations_s", 2, "the shortest"),
    "carbon.credits.reference_steps": ("steps", 100, "the middle"),
}
_PICK = {
    "the first": lambda values: values[0],
    "the shortest": min,
    "the middle": lambda values: sorted(values)[(len(values) - 1) // 2],
}
# A picked value stays put while it is in the grid: the first run records its picks here, so
# that adding a grid value never changes what credits and charts are relative to.
GRID_REFERENCES_FILE = Path("results/grid_references.json")


def grid_reference(config: dict, key: str, recorded: Any = None) -> tuple[Any, bool]:
    """The value of the setting `key` of GRID_REFERENCES, and whether it was picked (unset):
    the preferred value if in the grid, else `recorded` (an earlier run's pick) if in the
    grid, else the rule's pick."""
    grid_key, preferred, otherwise = GRID_REFERENCES[key]
    *parents, leaf = key.split(".")
    section = config
    for parent in parents:
        section = section.get(parent) or {}
    value, allowed = section.get(leaf), config["grid"][grid_key]
    if value is None:
        for candidate in (preferred, recorded):
            if candidate is not None and candidate in allowed:
                return candidate, True
        return _PICK[otherwise](allowed), True
    if value not in allowed:
        default = f"{preferred} if in the grid, else " if preferred is not None else ""
        raise ConfigError(
            f"config key '{key}': {value!r} is not in the grid (grid.{grid_key}: "
            f"{', '.join(map(str, allowed))}); pick one of those, or remove the key to use "
            f"{default}the first run's pick, else {otherwise}"
        )
    return value, False


def resolve_grid_references(
    config: dict, recorded_path: Path | None = None, record: bool = False
) -> list[str]:
    """Fill the unset GRID_REFERENCES settings in place; 'key = value' for each one picked.

    `recorded_path`: earlier picks (GRID_REFERENCES_FILE), kept while in the grid; `record`:
    write this run's picks there (a real run, not a dry run or a check)."""
    recorded = {}
    if recorded_path is not None and recorded_path.is_file():
        recorded = json.loads(recorded_path.read_text())
    picked, picks = [], {}
    for key in GRID_REFERENCES:
        value, was_picked = grid_reference(config, key, recorded.get(key))
        *parents, leaf = key.split(".")
        section = config
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = value
        if was_picked:
            kept = recorded.get(key) == value and GRID_REFERENCES[key][1] != value
            picked.append(f"{key} = {value}" + (f" (kept from {recorded_path})" if kept else ""))
            picks[key] = value
    if record and recorded_path is not None and picks and {**recorded, **picks} != recorded:
        recorded_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = recorded_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**recorded, **picks}, indent=1) + "\n")
        tmp.replace(recorded_path)
    return picked


@dataclass(frozen=True)
class Study:
    """Which config a run measures: a name (config key `study`, else the file's stem) and a
    hash of what defines its measured rows (STUDY_KEYS and the prompts' text)."""

    name: str
    hash: str
    files: tuple[str, ...]

    def environment(self) -> dict[str, str]:
        """The variables through which jobs stamp their table rows (vidcarbon.tables)."""
        from vidcarbon.tables import STUDY_ENVIRONMENT

        return {
            STUDY_ENVIRONMENT["study"]: self.name,
            STUDY_ENVIRONMENT["study_hash"]: self.hash,
        }

    def describe(self, config: dict) -> str:
        """The lines a run starts with: the config, its study and what it will measure."""

        def names(section) -> str:
            return ", ".join(section["models"]) if section else "none"

        return (
            f"vidcarbon: study '{self.name}' (hash {self.hash}) from {' + '.join(self.files)}\n"
            f"vidcarbon: video models {names(config)}; LLMs {names(config.get('llm'))}; "
            f"image models {names(config.get('image'))}; device {config['device']}"
        )


def replaced_study(study: Study, results: str | Path = "results") -> str | None:
    """A warning when `results` holds the tables of another study, which this run's tables
    replace (its measured records stay), with how to keep studies apart."""
    runs = Path(results) / "runs.parquet"
    if not runs.is_file():
        return None
    import pyarrow.parquet as pq

    meta = {k.decode(): v.decode() for k, v in (pq.read_schema(runs).metadata or {}).items()}
    name, hash_ = meta.get("vidcarbon.study"), meta.get("vidcarbon.study_hash")
    if not hash_ or hash_ == study.hash:
        return None
    return (
        f"vidcarbon: {results}/ holds the tables of study '{name}' (hash {hash_}); this run "
        f"of study '{study.name}' replaces them. To keep both, run each study in a working "
        "directory of its own: snakemake --directory studies/<name> --configfile <config> "
        "(README, 'One results folder per study')"
    )


def study_of(config: dict, files: list[str], prompts: list[Prompt]) -> Study:
    """The study of a validated config read from `files`."""
    name = config.get("study") or "+".join(Path(f).stem for f in files)
    defining = {key: config.get(key) for key in STUDY_KEYS}
    defining["prompts"] = [p.text for p in prompts]
    return Study(name=name, hash=config_hash(defining), files=tuple(map(str, files)))


def prepare_config(
    config: dict,
    files: list[str],
    schema_path: str | Path,
    recorded_path: Path | None = None,
    record: bool = False,
) -> tuple[Study, list[str]]:
    """What the Snakefile checks and fills before planning: validation with defaults, the
    grid references (`resolve_grid_references`); returns the study and the references
    picked. Raises ConfigError."""
    validate_config(config, schema_path)
    picked = resolve_grid_references(config, recorded_path, record)
    study = study_of(config, files, load_prompts(config))
    return study, picked


def check_config_file(path: str | Path) -> str:
    """Check a config file as a run does when it reads it (from the working directory, as
    its relative paths are); what the run would measure. Raises ConfigError.

    Snakemake parses a --configfile itself and reports a YAML error without file or line;
    this names both."""
    from vidcarbon.carbon.settings import carbon_settings

    schema = Path("workflow/schemas/config.schema.yaml")
    if not schema.is_file():
        raise ConfigError(f"{schema} not found: run this from the repository root")
    config = read_config_file(path)
    study, picked = prepare_config(config, [str(path)], schema, GRID_REFERENCES_FILE)
    carbon_settings(config)
    lines = [study.describe(config)]
    if picked:
        lines.append(f"vidcarbon: not set, picked from the grid: {'; '.join(picked)}")
    lines += [f"vidcarbon: {line}" for line in hub_models(config)]
    n = len(cells(config, load_prompts(config)))
    lines.append(f"vidcarbon: {path} is valid: {n} video cells")
    return "\n".join(lines)


def hub_models(config: dict) -> list[str]:
    """Where each model that a run would fetch comes from (`weights.hub_status`): a misspelled
    hub id is a ConfigError here, not a traceback in fetch_weights."""
    from vidcarbon.backends.diffusers_spec import _embedded as video_ids
    from vidcarbon.backends.diffusers_spec import download_patterns, parse_options
    from vidcarbon.weights import hub_status
    from vidcarbon.workloads.text.models import TINY, LlmSpec
    from vidcarbon.workloads.text.models import _embedded as llm_ids

    known = [*video_ids(), *llm_ids()]
    fetched = []
    for name, model in config["models"].items():
        if model["backend"] == "diffusers":
            opts = parse_options(model.get("options", {}), key=f"models.{name}.options")
            if download_patterns(opts) is not None:
                fetched.append((f"models.{name}", opts.model))
    for name, spec in ((config.get("llm") or {}).get("models") or {}).items():
        llm = LlmSpec(**spec)
        if llm.model != TINY and not llm.embedded:
            fetched.append((f"llm.models.{name}", llm.model))
    lines = []
    for key, model in fetched:
        try:
            lines.append(f"{key}: {model!r} {hub_status(model, known)}")
        except ConfigError as exc:
            raise ConfigError(f"config key '{key}.model': {exc}") from exc
    return lines


def load_prompts(config: dict) -> list[Prompt]:
    return read_prompts(config["prompts"])


def model_sizes(config: dict) -> dict[str, dict[str, tuple[int, int]]]:
    """model -> resolution name -> the (height, width) the model declares for it."""
    return {
        name: {res: tuple(size) for res, size in model.get("resolutions", {}).items()}
        for name, model in config["models"].items()
    }


def cells(config: dict, prompts: list[Prompt]) -> list[grid.Cell]:
    """The grid's baseline cells, each lever's cells (`levers.grid` of `levers.models`) and
    each layout's (`parallel.grid` of `parallel.models`), in grid order."""

    def expand(g: dict, models: list[str], lever_names=(grid.BASELINE,), layouts=((1, 1),)):
        return grid.expand(
            models=models,
            prompt_ids=[p.prompt_id for p in prompts],
            steps=g["steps"],
            resolutions=g["resolutions"],
            durations_s=g["durations_s"],
            fps=config["fps"],
            seeds=g["seeds"],
            sizes=model_sizes(config),
            levers=lever_names,
            layouts=layouts,
        )

    found = expand(config["grid"], list(config["models"]))
    lever_names = tuple(name for name in levers.levers(config) if name != grid.BASELINE)
    if lever_names:
        found += expand(levers.lever_grid(config), levers.lever_models(config), lever_names)
    layouts = tuple((p.ulysses, p.ring) for p in parallel.layouts(config))
    if layouts:
        found += expand(
            parallel.parallel_grid(config),
            [m for m in parallel.parallel_models(config) if m in config["models"]],
            layouts=layouts,
        )
    return sorted(found, key=grid.sort_key)


def load_hardware(path: str | Path) -> dict[str, dict]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key 'hardware': file '{path}' does not exist")
    devices = parse_yaml(path.read_text())["devices"]
    check_sources(devices)  # a published embodied figure without its citation or scope stops here
    return devices


def cpu_measurement(config: dict) -> dict[str, Any]:
    """What a measured job needs to estimate CPU energy: `{"cpu": "auto"}` (each job detects
    its host CPU, `vidcarbon.energy.host_cpu`), or a hardware-file CPU with its per-core
    power (TDP over cores) and where that figure comes from."""
    name = config["measurement"]["cpu"]
    if name == "auto":
        return {"cpu": "auto"}
    devices = load_hardware(config["hardware"])
    spec = devices.get(name)
    if spec is None or spec.get("kind") != "cpu":
        cpus = ", ".join(k for k, v in devices.items() if v.get("kind") == "cpu")
        raise ConfigError(
            f"config key 'measurement.cpu': {name!r} is not a CPU in {config['hardware']}; "
            f"allowed: auto (detect the host CPU), {cpus}"
        )
    from vidcarbon.energy.host_cpu import configured_cpu_power

    power = configured_cpu_power(name, spec, config["hardware"])
    return {
        "cpu": name,
        "cpu_power_per_core_w": power.power_per_core_w,
        "cpu_estimate_source": power.source,
    }


def config_hash(*parts: Any) -> str:
    """Short SHA-256 of JSON-serialisable config parts and the tables' schema version (for
    table metadata). Every rule that writes a table takes it as a param, so a new schema
    version reruns them: a table of an older version is rewritten, never read and refused."""
    from vidcarbon.tables import SCHEMA_VERSION

    blob = json.dumps([SCHEMA_VERSION, *parts], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
