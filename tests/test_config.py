import copy

import pytest

from tests.conftest import SCHEMA, small_config
from vidcarbon.config import cells, load_prompts, validate_config
from vidcarbon.errors import ConfigError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\na heron\n")
    from tests.conftest import REPO

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
