"""The `carbon:` config section: schema messages, parse-time checks and what the rule gets."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO, SCHEMA, small_config
from vidcarbon.carbon.settings import carbon_settings
from vidcarbon.config import validate_config
from vidcarbon.energy import host_cpu
from vidcarbon.energy.host_cpu import HostCpu
from vidcarbon.errors import ConfigError


@pytest.fixture
def in_repo():
    old = os.getcwd()
    os.chdir(REPO)  # config paths are relative to the working directory
    yield
    os.chdir(old)


def settings(carbon: dict | None = None, **top):
    config = small_config("config/prompts/default.txt")
    if carbon is not None:
        config["carbon"] = carbon
    config.update(top)
    validate_config(config, SCHEMA)
    return carbon_settings(config)


GENOA = HostCpu("AMD EPYC", "AuthenticAMD", 25, 17, 2, virtual=True)


@pytest.fixture
def genoa_host(monkeypatch):
    monkeypatch.setattr(host_cpu, "read_host_cpu", lambda: GENOA)


def test_defaults_are_the_papers_and_charge_the_host_cpu_on_cpu(in_repo, genoa_host):
    s = settings()
    assert s.assumptions == {"pue": 1.2, "lifetime_years": 5, "utilisation": 1}
    # measurement.cpu auto: the entry whose cpuid covers the host (Zen 4, family 19h model 11h)
    assert s.device == "epyc-9004-zen4" and s.scope == "gpu"
    assert [x["name"] for x in s.scenarios] == [
        "coal", "gas", "biomass", "solar", "geothermal", "hydro", "nuclear", "wind",
    ]  # fmt: skip
    # small_config's grid has no 240p or 2 s, so the reference falls back to what was measured
    assert s.credits["reference"] == {"resolution": "144p", "frames": 4, "steps": 2, "credits": 10}


def test_only_the_needed_hardware_travels_to_the_rule(in_repo):
    s = settings({"device": "a100-80gb", "scope": "node", "node": "dgx-a100"})
    assert sorted(s.hardware) == ["a100-80gb", "dgx-a100", "epyc-7763"]
    assert "description" not in s.hardware["a100-80gb"]
    assert settings({"device": "a100-80gb", "node": "dgx-a100"}).node is None  # gpu scope


@pytest.mark.parametrize(
    "carbon, message",
    [
        ({"pue": 0}, "config key 'carbon.pue': 0 is not allowed; it must be >= 1"),
        ({"pue": -1}, "config key 'carbon.pue': -1 is not allowed"),
        ({"lifetime_years": 0}, "'carbon.lifetime_years': 0 is not allowed; it must be > 0"),
        ({"lifetime_years": -5}, "'carbon.lifetime_years': -5 is not allowed"),
        ({"utilisation": 0}, "'carbon.utilisation': 0 is not allowed"),
        (
            {"scenarios": [{"source": "peat"}]},
            "'carbon.scenarios[0].source': 'peat' is not allowed",
        ),
        ({"scenarios": [{"intensity_g_per_kwh": 0}]}, "scenarios[0].intensity_g_per_kwh': 0"),
        ({"scenarios": [{"intensity_g_per_kwh": -1}]}, "it must be > 0"),
        ({"scenarios": [{"country": "Narnia"}]}, "country 'Narnia' is not in"),
        ({"scenarios": [{"timeseries": "nope.csv"}]}, "'nope.csv' does not exist"),
        ({"scenarios": []}, "'carbon.scenarios': is empty"),
        ({"device": "a100-81gb"}, "'carbon.device': 'a100-81gb' is not in the hardware file"),
        ({"scope": "node"}, "carbon.scope 'node' needs one"),
        ({"credits": {"reference_resolution": "720p"}}, "'720p' is not in the grid"),
        ({"credits": {"scenario": "mars"}}, "'carbon.credits.scenario': 'mars' is not a scenario"),
    ],
)
def test_bad_values_are_refused_with_the_key(in_repo, carbon, message):
    with pytest.raises(ConfigError) as err:
        settings(carbon)
    assert message in str(err.value)


def test_a_gpu_run_must_name_the_charged_gpu(in_repo):
    with pytest.raises(ConfigError, match="carbon.device': not set, and device is 'cuda'"):
        settings(device="cuda")
    assert settings({"device": "h100-sxm-80gb"}, device="cuda").device == "h100-sxm-80gb"


def test_default_config_resolves_every_kind(in_repo):
    import yaml

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate_config(config, SCHEMA)
    s = carbon_settings(config)
    kinds = {x["name"]: x["kind"] for x in s.scenarios}
    assert kinds["USA"] == "country" and kinds["flat-400g"] == "number"
    assert kinds["synthetic-hourly"] == "timeseries" and kinds["wind"] == "source"
    assert s.series_paths == ["config/intensity/synthetic_hourly.csv"]
    assert s.credits["scenario"] == "synthetic-hourly"
    assert s.credits["reference"] == {
        "resolution": "240p",
        "frames": 16,
        "steps": 16,
        "credits": 10,
    }


def test_a_named_cpu_is_charged_whatever_the_host(in_repo, genoa_host):
    config = small_config("config/prompts/default.txt")
    config["measurement"]["cpu"] = "epyc-7763"
    validate_config(config, SCHEMA)
    assert carbon_settings(config).device == "epyc-7763"


def test_an_unlisted_cpu_of_a_known_vendor_is_charged_as_its_nearest_entry(
    in_repo, monkeypatch, capsys
):
    # a KVM guest reporting Intel family 6 model 167 (Rocket Lake's id, with AMX flags: a
    # server part behind a made-up model), as the CI machines do
    vm = HostCpu("Intel(R) Xeon(R) Processor", "GenuineIntel", 6, 167, 2, virtual=True)
    monkeypatch.setattr(host_cpu, "read_host_cpu", lambda: vm)
    assert settings().device == "xeon-8480"  # the only Intel entry
    said = capsys.readouterr().err
    assert "matches no `cpuid`" in said and "charged as xeon-8480" in said
    assert "an assumption; set carbon.device" in said
    # an AMD family no entry covers: the nearest family, then the nearest model range
    zen2 = HostCpu("AMD EPYC 7702", "AuthenticAMD", 23, 49, 64)
    monkeypatch.setattr(host_cpu, "read_host_cpu", lambda: zen2)
    assert settings().device == "epyc-7763"  # family 25, models 0-15


def test_an_unknown_host_cpu_asks_for_carbon_device(in_repo, monkeypatch):
    unknown = HostCpu("Hygon C86 7285", "HygonGenuine", 24, 1, 32)
    monkeypatch.setattr(host_cpu, "read_host_cpu", lambda: unknown)
    with pytest.raises(ConfigError) as error:
        settings()
    message = str(error.value)
    assert "config key 'carbon.device': not set" in message
    assert "'Hygon C86 7285', HygonGenuine family 24 model 1" in message
    assert "epyc-9004-zen4" in message  # the allowed entries are listed
