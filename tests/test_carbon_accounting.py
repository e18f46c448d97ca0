"""The per-cell, per-phase carbon formula."""

from __future__ import annotations

import pytest

from vidcarbon.carbon.accounting import (
    SECONDS_PER_YEAR,
    Assumptions,
    breakeven_intensity_g_per_kwh,
    carbon_rows,
    cell_carbon,
)
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.carbon.intensity import Scenario
from vidcarbon.errors import ConfigError

GPU = ChargedHardware("gpu-x", "gpu", "gpu", "gpu-x", 30_000.0, None, {})
SERVER = ChargedHardware(
    "gpu-x", "gpu", "published", "gpu-x: server share (x23)", 300_000.0, None, {},
    source="x23", counts="server share", citation="X et al. 2023; Table 2", year=2023,
)  # fmt: skip
CPU = ChargedHardware("cpu-x", "cpu", "gpu", "cpu-x", 20_000.0, 64, {})
GAS = Scenario("gas", "source", 490.0, "ACT")


def run(status="ok", **over):
    row = {
        "cell_id": "m/p/240p_f16_s4_seed0_baseline",
        "model": "m",
        "prompt_id": "p",
        "resolution": "240p",
        "frames": 16,
        "steps": 4,
        "seed": 0,
        "lever": "baseline",
        "gpus": 1,
        "ulysses_degree": 1,
        "ring_degree": 1,
        "status": status,
        "threads": 2,
        "gpu_method": "counter",
        "cpu_method": "estimated",
        "dram_method": None,
    }
    for phase, (e, t) in {
        "encode": (360.0, 1.0),
        "denoise": (7200.0, 20.0),
        "decode": (720.0, 2.0),
    }.items():
        row[f"{phase}_energy_j"] = e
        row[f"{phase}_net_energy_j"] = e / 2
        row[f"{phase}_duration_s"] = t
    row.update(over)
    return row


def test_formula_per_phase_and_total():
    a = Assumptions(pue=1.2, lifetime_years=5)
    r = cell_carbon(run(), GAS, GPU, a)
    life_s = 5 * 365 * 24 * 3600
    assert life_s == 157_680_000
    # denoise: 7200 J = 0.002 kWh -> 0.002 x 1.2 x 490 = 1.176 g; 20 s of a 30 kg GPU
    assert r["denoise_operational_g"] == pytest.approx(1.176)
    assert r["denoise_embodied_g"] == pytest.approx(20 / life_s * 30_000)
    assert r["denoise_net_operational_g"] == pytest.approx(1.176 / 2)
    energy_j = 360 + 7200 + 720
    assert r["energy_j"] == energy_j and r["generation_duration_s"] == 23
    assert r["operational_g"] == pytest.approx(energy_j / 3.6e6 * 1.2 * 490)
    assert r["embodied_g"] == pytest.approx(23 / life_s * 30_000)
    assert r["total_g"] == pytest.approx(r["operational_g"] + r["embodied_g"])
    assert r["total_g"] == pytest.approx(
        sum(r[f"{p}_carbon_g"] for p in ("encode", "denoise", "decode"))
    )
    assert r["net_total_g"] == pytest.approx(r["operational_g"] / 2 + r["embodied_g"])
    assert (r["measured_components"], r["estimated_components"]) == ("gpu", "cpu")
    assert r["pue"] == 1.2 and r["intensity_g_per_kwh"] == 490 and r["embodied_share"] == 1


def test_utilisation_shortens_the_used_lifetime_and_cpu_jobs_pay_per_core():
    full = cell_carbon(run(), GAS, GPU, Assumptions())
    half = cell_carbon(run(), GAS, GPU, Assumptions(utilisation=0.5))
    assert half["embodied_g"] == pytest.approx(2 * full["embodied_g"])
    assert half["operational_g"] == full["operational_g"]
    cpu = cell_carbon(run(threads=4), GAS, CPU, Assumptions())
    assert cpu["embodied_share"] == pytest.approx(4 / 64)
    assert cpu["embodied_g"] == pytest.approx(23 / (5 * SECONDS_PER_YEAR) * 20_000 * 4 / 64)


def test_failed_cells_keep_a_row_without_carbon():
    rows = carbon_rows([run(), run(status="oom")], [GAS], [GPU], Assumptions())
    assert [r["status"] for r in rows] == ["ok", "oom"]
    assert rows[1]["total_g"] is None and rows[1]["denoise_carbon_g"] is None
    assert rows[1]["scenario"] == "gas"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pue": 0}, "carbon.pue': 0 is not allowed"),
        ({"pue": -1.2}, "carbon.pue': -1.2 is not allowed"),
        ({"pue": 0.9}, "below 1"),
        ({"lifetime_years": 0}, "carbon.lifetime_years': 0"),
        ({"utilisation": 1.5}, "above 1"),
    ],
)
def test_bad_assumptions(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Assumptions(**kwargs)


def test_ok_row_without_energy_is_an_error_not_zero():
    with pytest.raises(ValueError, match="status ok but no denoise energy"):
        cell_carbon(run(denoise_energy_j=None), GAS, GPU, Assumptions())


def test_one_row_per_embodied_source_and_only_acts_is_the_headline():
    rows = carbon_rows([run()], [GAS], [GPU, SERVER], Assumptions())
    assert [(r["embodied_source"], r["embodied_default"]) for r in rows] == [
        ("act", True),
        ("x23", False),
    ]
    act, published = rows
    assert published["operational_g"] == act["operational_g"]  # energy does not change
    assert published["embodied_g"] == pytest.approx(10 * act["embodied_g"])
    assert published["embodied_counts"] == "server share" and published["embodied_year"] == 2023
    assert published["embodied_citation"] == "X et al. 2023; Table 2"


def test_breakeven_intensity_by_hand():
    # 8280 J over 23 s with 30 kg over 5 years: embodied 23 / 157 680 000 x 30 000 g
    # = 4.376e-3 g; operational at I g/kWh = 8280 / 3.6e6 x 1.2 x I = 2.76e-3 x I g,
    # equal at I = 4.376e-3 / 2.76e-3 = 1.5855 g/kWh
    r = cell_carbon(run(), GAS, GPU, Assumptions())
    assert r["breakeven_intensity_g_per_kwh"] == pytest.approx(1.5855, abs=1e-4)
    assert breakeven_intensity_g_per_kwh(8280.0, r["embodied_g"], 1.2) == pytest.approx(
        1.5855, 1e-4
    )
    at = Scenario("at", "number", r["breakeven_intensity_g_per_kwh"], "given")
    even = cell_carbon(run(), at, GPU, Assumptions())
    assert even["operational_g"] == pytest.approx(even["embodied_g"])
    assert (
        cell_carbon(run(status="oom"), GAS, GPU, Assumptions())["breakeven_intensity_g_per_kwh"]
        is None
    )


def test_a_cell_on_four_gpus_pays_four_gpus_while_it_generates():
    a = Assumptions(pue=1.2, lifetime_years=5)
    one, four = (cell_carbon(run(gpus=n, ulysses_degree=n), GAS, GPU, a) for n in (1, 4))
    assert four["embodied_share"] == 4
    for phase in ("denoise", "decode"):
        assert four[f"{phase}_embodied_g"] == pytest.approx(4 * one[f"{phase}_embodied_g"])
    # the text encoding is a job of its own on one GPU
    assert four["encode_embodied_g"] == pytest.approx(one["encode_embodied_g"])
    # on a CPU: each of the cell's processes holds its threads' share of the package
    cpu_two = cell_carbon(run(gpus=2, ulysses_degree=2), GAS, CPU, a)
    assert cpu_two["embodied_share"] == 2 * 2 / 64
