"""The `quality:` config section: defaults, and errors that name the key, value and choices."""

from tests.conftest import SCHEMA
from tests.test_config import check_error, config  # noqa: F401 (fixture)
from vidcarbon.config import validate_config


def test_quality_defaults_are_weight_free(config):  # noqa: F811
    validate_config(config, SCHEMA)
    assert config["quality"]["metrics"] == ["temporal_flickering", "sharpness", "noise"]
    vbench = config["quality"]["vbench"]
    assert vbench["enabled"] is False
    assert vbench["dimensions"] == ["imaging_quality", "overall_consistency"]


def test_unknown_metric_names_key_value_and_choices(config):  # noqa: F811
    config["quality"] = {"metrics": ["sharpness", "musiq"]}
    check_error(config, "quality.metrics[1]", "'musiq'", "temporal_flickering, sharpness, noise")


def test_unknown_vbench_dimension(config):  # noqa: F811
    config["quality"] = {"vbench": {"enabled": True, "dimensions": ["aesthetic_quality"]}}
    check_error(
        config,
        "quality.vbench.dimensions[0]",
        "'aesthetic_quality'",
        "imaging_quality, overall_consistency",
    )
