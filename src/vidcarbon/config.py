"""Configuration: schema validation with messages that name the key; values derived from it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from vidcarbon import grid
from vidcarbon.backends import check_backend, check_model_entry
from vidcarbon.errors import ConfigError
from vidcarbon.llm.models import check_spec as check_llm_spec
from vidcarbon.prompts import Prompt, read_prompts


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


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validate `config` in place (filling defaults); raise ConfigError listing every problem."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(map(_describe, errors)))
    _fill_defaults(config, schema)
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
    cpu_measurement(config)
    return config


def load_prompts(config: dict) -> list[Prompt]:
    return read_prompts(config["prompts"])


def model_sizes(config: dict) -> dict[str, dict[str, tuple[int, int]]]:
    """model -> resolution name -> the (height, width) the model declares for it."""
    return {
        name: {res: tuple(size) for res, size in model.get("resolutions", {}).items()}
        for name, model in config["models"].items()
    }


def cells(config: dict, prompts: list[Prompt]) -> list[grid.Cell]:
    g = config["grid"]
    return grid.expand(
        models=list(config["models"]),
        prompt_ids=[p.prompt_id for p in prompts],
        steps=g["steps"],
        resolutions=g["resolutions"],
        durations_s=g["durations_s"],
        fps=config["fps"],
        seeds=g["seeds"],
        sizes=model_sizes(config),
    )


def load_hardware(path: str | Path) -> dict[str, dict]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key 'hardware': file '{path}' does not exist")
    return yaml.safe_load(path.read_text())["devices"]


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
    """Short SHA-256 of JSON-serialisable config parts (for table metadata)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
