"""ACT-style embodied carbon of the devices and servers in config/hardware.yaml."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import REPO
from vidcarbon.carbon.embodied import (
    carbon_per_area_g_per_cm2,
    charged_hardware,
    charged_sources,
    device_embodied,
    node_embodied,
    published_sources,
)
from vidcarbon.config import load_hardware
from vidcarbon.errors import ConfigError

DEVICES = load_hardware(REPO / "config" / "hardware.yaml")


def test_cpa_is_acts_formula_by_hand():
    # 7nm: (583 g/kWh Taiwan x 2.15 kWh/cm2 + (350 + 200) / 2 g/cm2 + 500 g/cm2) / 0.875
    assert carbon_per_area_g_per_cm2("7nm") == pytest.approx((583 * 2.15 + 275 + 500) / 0.875)
    assert carbon_per_area_g_per_cm2("7nm", gpa_percentile=95) == pytest.approx(
        (583 * 2.15 + 350 + 500) / 0.875
    )
    with pytest.raises(ConfigError, match="process node '4nm' is not in ACT"):
        carbon_per_area_g_per_cm2("4nm")


def test_a100_and_h100_match_the_act_api_numbers():
    # ACT's own model (docs/carbon.md) gives A100 80GB 26.0 kg, 40GB 23.0 kg, H100 29.5 kg
    a100 = device_embodied("a100-80gb", DEVICES["a100-80gb"])
    die = 8.26 * (583 * 2.15 + 275 + 500) / 0.875
    assert a100.die_g == pytest.approx(die)
    assert a100.memory_g == pytest.approx(80 * 65 / 0.875)
    assert a100.packaging_g == 6 * 150
    assert a100.total_g == pytest.approx(25_991, abs=1)
    assert device_embodied("a100-40gb", DEVICES["a100-40gb"]).total_g == pytest.approx(23_020, 1)
    h100 = device_embodied("h100-sxm-80gb", DEVICES["h100-sxm-80gb"]).total_g
    assert h100 == pytest.approx(29_456, abs=1)
    assert device_embodied("h200", DEVICES["h200"]).total_g > h100  # more HBM, one more stack


def test_node_scope_charges_one_gpus_share_of_the_server():
    node = node_embodied("dgx-a100", DEVICES["dgx-a100"], DEVICES)
    gpu = device_embodied("a100-80gb", DEVICES["a100-80gb"]).total_g
    cpu = device_embodied("epyc-7763", DEVICES["epyc-7763"]).total_g
    host = 2 * cpu + 2048 * 65 / 0.875 + 34560 * 10 / 0.875
    assert node.total_g == pytest.approx(8 * gpu + host)
    charged = charged_hardware("a100-80gb", "node", "dgx-a100", DEVICES)
    assert charged.embodied_g == pytest.approx(gpu + host / 8)
    assert charged.share(threads=4) == 1.0  # a GPU job holds its GPU whatever its CPU threads
    assert charged_hardware("a100-80gb", "gpu", None, DEVICES).embodied_g == pytest.approx(gpu)


def test_cpu_device_is_charged_per_core():
    charged = charged_hardware("epyc-9005-zen5", "gpu", None, DEVICES)
    assert charged.scope == "cpu_package"  # what a CPU run is charged, whatever the key says
    assert charged_hardware("a100-80gb", "gpu", None, DEVICES).scope == "gpu"
    assert charged.cores == 64 and charged.share(2) == pytest.approx(2 / 64)
    assert charged.share(None) == pytest.approx(1 / 64)
    server = charged_hardware("epyc-9005-zen5", "node", "cpu-server-zen5", DEVICES)
    assert server.embodied_g > charged.embodied_g and server.share(2) == pytest.approx(2 / 64)


@pytest.mark.parametrize(
    "device, scope, node, message",
    [
        ("a100-81gb", "gpu", None, "'a100-81gb' is not in the hardware file"),
        ("dgx-a100", "gpu", None, "is a 'node'; name a gpu or cpu entry"),
        ("a100-80gb", "node", None, "carbon.scope 'node' needs one"),
        ("a100-80gb", "node", "dgx-h100", "holds 'h100-sxm-80gb', not 'a100-80gb'"),
        ("epyc-7763", "node", "dgx-a100", "is not a CPU-only server"),
        ("a100-80gb", "rack", None, "allowed: gpu, node"),
    ],
)
def test_bad_hardware_choices(device, scope, node, message):
    with pytest.raises(ConfigError, match=message):
        charged_hardware(device, scope, node, DEVICES)


def test_missing_fields_name_the_entry():
    with pytest.raises(ConfigError, match="hardware entry 'x': missing packaged_ics"):
        device_embodied("x", {"kind": "gpu", "dies": []})


def test_published_sources_of_the_hardware_file():
    charged = charged_sources("a100-80gb", "gpu", None, DEVICES, None)
    assert [(c.source, c.counts, c.embodied_g) for c in charged] == [
        ("act", "gpu", pytest.approx(25_991, abs=1)),  # ACT first: the headline, unchanged
        ("chien-hotcarbon23", "server share", 318_000.0),
    ]
    assert "doi:10.1145/3604930.3605705" in charged[1].citation and charged[1].year == 2023
    h100 = {
        c.source: c.embodied_g for c in charged_sources("h100-sxm-80gb", "gpu", None, DEVICES, None)
    }
    assert h100["ecologits-h100"] == 164_000.0
    assert h100["ecologits-p5-server"] == pytest.approx(5_700_000 / 8 + 164_000)
    only_act = charged_sources("a100-80gb", "gpu", None, DEVICES, [])
    assert [c.source for c in only_act] == ["act"]
    cpu = charged_sources("epyc-9004-zen4", "gpu", None, DEVICES, None)
    assert [c.source for c in cpu] == ["act"]  # no published figure of the host CPU


def test_an_unknown_configured_source_is_refused():
    with pytest.raises(
        ConfigError, match="'ecologits-h100' is not a source of 'a100-80gb'; allowed: act, chien"
    ):
        charged_sources("a100-80gb", "gpu", None, DEVICES, ["ecologits-h100"])


CHIEN = dict(DEVICES["a100-80gb"]["embodied_sources"]["chien-hotcarbon23"])


@pytest.mark.parametrize("field", ["citation", "scope", "counts", "embodied_kg", "where", "year"])
def test_a_source_without_a_field_is_refused_when_the_file_is_read(tmp_path, field):
    fields = {k: v for k, v in CHIEN.items() if k != field}
    spec = {**DEVICES["a100-80gb"], "embodied_sources": {"chien-hotcarbon23": fields}}
    path = tmp_path / "hardware.yaml"
    path.write_text(yaml.safe_dump({"devices": {"a100-80gb": spec}}))
    with pytest.raises(ConfigError) as err:
        load_hardware(path)
    assert str(err.value).startswith(
        f"hardware entry 'a100-80gb', embodied source 'chien-hotcarbon23': missing {field}"
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"counts": "rack"}, "counts 'rack'; allowed for a gpu entry: gpu, board, server share"),
        ({"embodied_kg": -3}, "embodied_kg -3; allowed: a number of kg > 0"),
        ({"year": "2023"}, "year '2023'; allowed: a year"),
        ({"doi": "x"}, "unknown field doi"),
        ({"citation": ""}, "missing citation"),
    ],
)
def test_bad_source_values_are_refused(change, message):
    spec = {"kind": "gpu", "embodied_sources": {"s": {**CHIEN, **change}}}
    with pytest.raises(ConfigError, match=message):
        published_sources("a100-80gb", spec)
    with pytest.raises(ConfigError, match="the name 'act' is ACT's model"):
        published_sources("a100-80gb", {"embodied_sources": {"act": CHIEN}})


def test_a_nodes_published_figure_is_a_whole_server_shared_at_node_scope():
    server = {**CHIEN, "counts": "server", "embodied_kg": 2400}
    devices = {**DEVICES, "dgx-a100": {**DEVICES["dgx-a100"], "embodied_sources": {"s24": server}}}
    node = charged_sources("a100-80gb", "node", "dgx-a100", devices, None)
    assert [(c.source, c.counts) for c in node] == [
        ("act", "server share"),
        ("chien-hotcarbon23", "server share"),  # the GPU's own, charged as published
        ("s24", "server share"),
    ]
    assert node[2].embodied_g == 2_400_000 / 8 and node[2].unit == "dgx-a100 / 8 GPUs: server (s24)"
    assert node[1].embodied_g == 318_000  # a GPU's figure does not change with the scope
    gpu = charged_sources("a100-80gb", "gpu", None, devices, None)
    assert [c.source for c in gpu] == ["act", "chien-hotcarbon23"]  # no node at gpu scope
    with pytest.raises(ConfigError, match="'s24' is not a source of 'a100-80gb'; allowed: act"):
        charged_sources("a100-80gb", "gpu", None, devices, ["s24"])
    node_message = "counts 'server share'; allowed for a node entry: server$"
    with pytest.raises(ConfigError, match=node_message):
        published_sources("dgx-a100", {"kind": "node", "embodied_sources": {"s": CHIEN}})
