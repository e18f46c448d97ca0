"""Options of the `opensora` backend and its DAG-time checks (no torch, no Open-Sora needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, SCHEMA, small_config
from vidcarbon.backends.opensora_options import frames_problem, parse_options
from vidcarbon.config import validate_config
from vidcarbon.errors import ConfigError


def test_release_defaults():
    v11, v12 = parse_options({}), parse_options({"version": 1.2})  # YAML reads 1.2 as a number
    assert (v11.version, v11.checkpoint, v11.vae, v11.text_tokens) == (
        "1.1",
        "hpcai-tech/OpenSora-STDiT-v2-stage3",
        "stabilityai/sd-vae-ft-ema",
        200,
    )
    assert (v12.version, v12.checkpoint, v12.vae, v12.text_tokens) == (
        "1.2",
        "hpcai-tech/OpenSora-STDiT-v3",
        "hpcai-tech/OpenSora-VAE-v1.2",
        300,
    )
    assert v11.text_encoder == "DeepFloyd/t5-v1_1-xxl" and v11.guidance_scale == 7.0
    assert v11.enable_flash_attn and v11.enable_layernorm_kernel and v11.dtype == "auto"


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"version": "2.0"}, ["options.version'", "'2.0'", "allowed: 1.1, 1.2"]),
        ({"version": True}, ["options.version'", "True"]),
        ({"steps": 100}, ["options.steps'", "unknown option", "allowed: version, checkpoint"]),
        ({"dtype": "fp8"}, ["options.dtype'", "'fp8'", "auto, bfloat16, float16, float32"]),
        ({"guidance_scale": -1}, ["options.guidance_scale'", "-1", "> 0"]),
        ({"guidance_scale": "7"}, ["options.guidance_scale'", "'7'"]),
        ({"text_tokens": 0}, ["options.text_tokens'", "integer >= 1"]),
        ({"text_tokens": True}, ["options.text_tokens'", "True"]),
        ({"enable_flash_attn": "yes"}, ["options.enable_flash_attn'", "'yes'", "true, false"]),
        ({"checkpoint": ""}, ["options.checkpoint'", "local path or a Hugging Face hub id"]),
    ],
)
def test_bad_option_names_key_value_and_allowed(options, fragments):
    with pytest.raises(ConfigError) as err:
        parse_options(options, key="models.os.options")
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)
    assert "config key 'models.os.options." in str(err.value)


def test_every_bad_option_is_listed():
    with pytest.raises(ConfigError) as err:
        parse_options({"dtype": "fp8", "text_tokens": -3})
    assert "options.dtype" in str(err.value) and "options.text_tokens" in str(err.value)


@pytest.mark.parametrize(
    ("version", "frames", "ok"),
    [("1.1", 2, True), ("1.2", 1, True), ("1.2", 16, False), ("1.2", 17, True), ("1.2", 2, False)],
)
def test_frames_each_release_can_produce(version, frames, ok):
    assert (frames_problem(version, frames) is None) == ok


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\n")
    (tmp_path / "config" / "hardware.yaml").write_text((REPO / "config/hardware.yaml").read_text())
    config = small_config()
    config["device"] = "cuda"
    config["carbon"] = {"device": "a100-80gb"}
    config["grid"]["durations_s"] = [2]
    config["grid"]["steps"] = [2, 4]
    config["measurement"]["warmup_steps"] = 2
    config["models"] = {"os": {"backend": "opensora", "options": {"version": "1.1"}}}
    return config


def test_config_names_the_model_option(config):
    config["models"]["os"]["options"] = {"version": "0.9"}
    with pytest.raises(ConfigError, match=r"'models\.os\.options\.version': '0\.9'"):
        validate_config(config, SCHEMA)


def test_config_refuses_cpu(config):
    config["device"] = "cpu"
    with pytest.raises(ConfigError, match="'device'.*models.os.*xformers"):
        validate_config(config, SCHEMA)


def test_config_refuses_a_v12_video_shorter_than_17_frames(config):
    config["models"]["os"]["options"] = {"version": "1.2"}
    with pytest.raises(ConfigError, match=r"grid\.durations_s.*2 s at 8 fps.*cannot produce 16"):
        validate_config(config, SCHEMA)
    config["fps"] = 24  # Open-Sora 1.2's own frame rate: 2 s = 48 frames
    validate_config(config, SCHEMA)


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [("steps", 1, False), ("warmup_steps", 1, False), ("warmup_steps", 0, True)],
)
def test_config_refuses_a_single_iddpm_step(config, key, value, ok):
    if key == "steps":
        config["grid"]["steps"] = [value, 20]
    else:
        config["measurement"]["warmup_steps"] = value
    if ok:
        validate_config(config, SCHEMA)
        return
    with pytest.raises(ConfigError, match=f"{key}': 1 with models.os.*cannot sample 1 step"):
        validate_config(config, SCHEMA)
    config["models"]["os"]["options"] = {"version": "1.2"}  # rectified flow can
    config["fps"] = 24
    validate_config(config, SCHEMA)


def test_example_config_validates_without_torch_or_open_sora():
    """What the submitting host runs at DAG build: no torch, no opensora import."""
    code = (
        "import sys, yaml\n"
        "from vidcarbon.config import validate_config, cells, load_prompts\n"
        "config = yaml.safe_load(open('config/paper.yaml'))\n"
        "validate_config(config, 'workflow/schemas/config.schema.yaml')\n"
        "print(len(cells(config, load_prompts(config))))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'opensora'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    n_cells, imported = out.stdout.splitlines()
    assert int(n_cells) > 0 and imported == "[]"
