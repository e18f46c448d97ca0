"""Levers at config read: the cells they add, and the refusals that stop a run before any job."""

import copy

import pytest

from tests.conftest import REPO, SCHEMA, small_config
from tests.test_config import check_error
from vidcarbon.config import cells, load_prompts, validate_config
from vidcarbon.errors import ConfigError
from vidcarbon.grid import BASELINE
from vidcarbon.levers import Lever, levers

PAB = {"cache": {"kind": "pyramid_attention_broadcast", "spatial_attention_block_skip_range": 2}}
WAN = {
    "backend": "diffusers",
    "options": {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"},
    "resolutions": {"144p": [144, 256]},
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\na heron\n")
    (tmp_path / "config" / "hardware.yaml").write_text((REPO / "config/hardware.yaml").read_text())
    config = small_config()
    config["levers"] = {
        "variants": {"pab": PAB, "unipc-half": {"scheduler": "unipc", "steps_fraction": 0.5}},
        "grid": {"steps": [2]},
    }
    return config


def test_each_lever_adds_the_cells_of_its_grid_and_the_baseline_stays(config):
    validate_config(config, SCHEMA)
    found = cells(config, load_prompts(config))
    baseline = [c for c in found if c.lever == BASELINE]
    # 2 prompts x steps {1, 2} measured as configured; each lever on the steps-2 cells only
    assert len(baseline) == 4
    assert sorted((c.lever, c.steps) for c in found if c.lever != BASELINE) == [
        ("pab", 2),
        ("pab", 2),
        ("unipc-half", 2),
        ("unipc-half", 2),
    ]
    assert {c.baseline for c in found} == set(baseline)


def test_fewer_steps_round_up_and_never_reach_zero():
    lever = Lever("half", scheduler="unipc", steps_fraction=0.5)
    assert [lever.steps_run(s) for s in (1, 2, 5, 16, 50)] == [1, 1, 3, 8, 25]
    assert Lever("cfg-off", options={"guidance_scale": 1}).steps_run(16) == 16
    assert lever.kinds() == ["scheduler:unipc", "steps:0.5"]


def test_an_unknown_lever_kind_is_refused_naming_the_lever(config):
    config["levers"]["variants"]["teacache"] = {"cache": {"kind": "teacache"}}
    check_error(config, "levers.variants.teacache.cache.kind", "'teacache' is not allowed")


def test_a_lever_named_baseline_is_check_error(config):
    config["levers"]["variants"]["baseline"] = PAB
    check_error(config, "levers.variants")


def test_a_cache_that_does_not_apply_to_the_model_is_refused_with_why(config):
    config["levers"]["variants"]["fbc"] = {"cache": {"kind": "first_block_cache"}}
    check_error(
        config,
        "lever 'fbc' on model 'latte-tiny' (backend latte-tiny): cache 'first_block_cache' "
        "does not apply: Latte interleaves spatial and temporal blocks",
    )


def test_an_option_the_backend_has_not_got_is_check_error(config):
    config["levers"]["variants"]["flash"] = {"options": {"attention": "flash"}}
    check_error(config, "lever 'flash' on model 'latte-tiny'", "option 'attention' is not a lever")


def test_a_missing_package_is_refused_naming_it(config):
    # xformers is not installed here (CPU torch); Wan's attention could take it on a GPU host
    config["models"]["wan"] = copy.deepcopy(WAN)
    config["grid"]["durations_s"] = [0.125]  # 1 frame: 4k+1 for Wan
    config["levers"] = {
        "variants": {"xformers": {"options": {"attention": "xformers"}}},
        "models": ["wan"],
    }
    check_error(
        config,
        "lever 'xformers' on model 'wan' (backend diffusers): option attention: 'xformers' "
        "needs package 'xformers', which is not installed",
    )


def test_open_sora_takes_only_what_its_own_code_supports(config):
    config["levers"]["variants"]["pab"] = PAB
    config["models"]["latte-tiny"] = {"backend": "opensora", "options": {}}
    config["device"] = "cuda"
    config["carbon"] = {"device": "a100-80gb"}
    config["grid"]["steps"] = [2]
    config["measurement"]["warmup_steps"] = 2
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "cache 'pyramid_attention_broadcast' does not apply: Open-Sora's own model" in message
    assert "a scheduler swap does not apply: Open-Sora samples with its own scheduler" in message


def test_a_lever_grid_outside_the_grid_is_check_error(config):
    config["levers"]["grid"] = {"steps": [3]}
    check_error(config, "config key 'levers.grid.steps': 3 not in grid.steps (1, 2)")


def test_the_levers_come_after_the_baseline():
    config = {"levers": {"variants": {"b": PAB, "a": {"steps_fraction": 0.5}}}}
    assert list(levers(config)) == [BASELINE, "b", "a"]


def test_a_diffusers_latte_has_the_toy_latte_limits(config):
    config["models"] = {
        "latte-1": {"backend": "diffusers", "options": {"model": "maxin-cn/Latte-1"}}
    }
    config["grid"]["durations_s"] = [2]  # Latte-1 renders its 16 frames only
    config["levers"] = {"variants": {"fbc": {"cache": {"kind": "first_block_cache"}}}}
    check_error(
        config, "lever 'fbc' on model 'latte-1' (backend diffusers): cache 'first_block_cache'"
    )
