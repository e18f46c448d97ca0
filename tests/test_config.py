import copy

import pytest
import yaml

from tests.conftest import REPO, SCHEMA, small_config
from vidcarbon.carbon.settings import carbon_settings
from vidcarbon.config import cells, load_prompts, validate_config
from vidcarbon.errors import ConfigError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\na heron\n")
    (tmp_path / "config" / "hardware.yaml").write_text((REPO / "config/hardware.yaml").read_text())
    return small_config()


def check_error(config, *fragments):
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_valid_config_gets_defaults(config):
    del config["measurement"]
    del config["grid"]["seeds"]
    validate_config(config, SCHEMA)
    assert config["grid"]["seeds"] == [0]
    assert config["measurement"]["warmup_steps"] == 1
    assert config["models"]["latte-tiny"]["options"] == {}


def test_unknown_resolution(config):
    config["grid"]["resolutions"] = ["144p", "1080x"]
    check_error(config, "grid.resolutions[1]", "'1080x'", "144p, 240p, 360p, 480p, 720p")


@pytest.mark.parametrize("bad", [0, -4])
def test_steps_not_positive(config, bad):
    config["grid"]["steps"] = [4, bad]
    check_error(config, "grid.steps[1]", repr(bad), ">= 1")


@pytest.mark.parametrize("bad", [2.5, "8", True])
def test_steps_not_integer(config, bad):
    config["grid"]["steps"] = [bad]
    check_error(config, "grid.steps[0]", repr(bad), "integer")


@pytest.mark.parametrize("key", ["steps", "resolutions", "durations_s"])
def test_empty_grid(config, key):
    config["grid"][key] = []
    check_error(config, f"grid.{key}", "empty")


def test_unknown_backend(config):
    config["models"]["latte-tiny"]["backend"] = "sora-pro"
    check_error(config, "models.latte-tiny.backend", "'sora-pro'", "latte-tiny", "module:Class")


def test_missing_prompts_file(config):
    config["prompts"] = "config/prompts/nope.txt"
    check_error(config, "'prompts'", "nope.txt", "does not exist")


def test_empty_prompts_file(config, tmp_path):
    (tmp_path / "config/prompts/test.txt").write_text("# only a comment\n\n")
    check_error(config, "'prompts'", "no prompt")


def test_duplicate_prompts(config, tmp_path):
    (tmp_path / "config/prompts/test.txt").write_text("a fox\na heron\na fox\n")
    check_error(config, "'prompts'", "lines 1 and 3", "'a fox'")


def test_unknown_key_and_unknown_cpu(config):
    bad = copy.deepcopy(config)
    bad["grid"]["step"] = [1]
    check_error(bad, "grid", "'step'", "allowed keys")
    config["measurement"]["cpu"] = "pentium"
    check_error(config, "measurement.cpu", "'pentium'", "epyc-9005-zen5")


def test_all_problems_reported_at_once(config):
    config["grid"]["steps"] = [0]
    config["grid"]["resolutions"] = ["999p"]
    check_error(config, "grid.steps[0]", "grid.resolutions[0]")


def test_cells_cover_the_grid(config):
    validate_config(config, SCHEMA)
    grid = cells(config, load_prompts(config))
    assert len(grid) == 2 * 2  # prompts x steps
    assert {c.frames for c in grid} == {4}


WAN = {"backend": "diffusers", "options": {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}}


def test_a_size_the_model_cannot_render_fails_validation(config):
    """Wan2.1 renders multiples of 16 pixels and 4k+1 frames: 480p (480x854) at 2 s x 8 fps is
    neither; the message says what was asked, what is possible and how to fix the config."""
    config["models"] = {"wan": copy.deepcopy(WAN)}
    config["grid"].update(resolutions=["480p"], durations_s=[2])
    prefix = (
        "config key 'models.wan': Wan-AI/Wan2.1-T2V-1.3B-Diffusers "
        "(trained at 480x832, 81 frames, 16 fps) cannot render"
    )
    check_error(
        config,
        f"{prefix} 480p: 480x854 pixels: height and width must be multiples of 16",
        "nearest: height 480, width 848 or 864",
        "fix: declare models.wan.resolutions: {480p: [height, width]}",
        f"{prefix} 2 s at 8 fps: 16 frames: frame counts must be 4k+1",
        "nearest: 13 (1.625 s) or 17 (2.125 s)",
        "fix: choose grid.durations_s (and fps)",
    )


def test_a_model_declares_its_own_size_for_a_resolution(config):
    config["models"] = {"wan": {**copy.deepcopy(WAN), "resolutions": {"480p": [480, 832]}}}
    config["fps"] = 16
    config["grid"].update(resolutions=["144p", "480p"], durations_s=[5.0625])  # 81 frames
    validate_config(config, SCHEMA)
    grid = cells(config, load_prompts(config)[:1])
    sizes = {(c.resolution, c.height, c.width, c.frames) for c in grid}
    assert sizes == {("144p", 144, 256, 81), ("480p", 480, 832, 81)}
    # the resolution name stays the cell's name
    assert {c.cell_id.split("/")[-1] for c in grid if c.steps == 1} == {
        "144p_f81_s1_seed0",
        "480p_f81_s1_seed0",
    }


def test_diffusers_options_are_checked_at_validation(config):
    config["models"] = {"wan": copy.deepcopy(WAN)}
    config["models"]["wan"]["options"]["weights"] = "fp8"
    check_error(config, "models.wan.options.weights", "'fp8'", "pretrained, random")
    config["models"]["wan"]["options"] = {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}
    config["models"]["wan"]["resolutions"] = {"1080p": [1080, 1920]}
    check_error(config, "models.wan.resolutions", "1080p")


@pytest.mark.parametrize("name", ["config.yaml", "wan-random.yaml"])
def test_shipped_configs_are_valid(name, monkeypatch):
    monkeypatch.chdir(REPO)
    config = validate_config(yaml.safe_load((REPO / "config" / name).read_text()), SCHEMA)
    carbon_settings(config)
