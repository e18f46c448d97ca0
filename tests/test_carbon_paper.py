"""The paper's RQ1 numbers (§3, Fig. 2) follow from Eq. 1; the implementation must give them.

A100 80GB at gpu scope (ACT: 26.0 kg), PUE 1.2, 5 years, a GPU averaging ~250 W. The paper:
under wind (11 g/kWh) operational carbon is 5.4x embodied (84 % of the total); under gas
(490 g/kWh) embodied is 0.4 % of the total.

Tolerance. Both ratios are proportional to P / embodied and independent of the job length,
so their uncertainty is that of the inputs the paper leaves unstated: "~250 W" (we allow
+/-5 %, an A100's average between ~238 and ~263 W) and the rounding of the printed values
(5.4 -> +/-0.05, about 1 %). At exactly 250 W our ratio is 5.56 (+3 %); the power that gives
5.40 is 243 W. The embodied carbon the paper's 5.4 implies at 250 W is 26.8 kg, 3 % above
ACT's 26.0 kg (docs/carbon.md).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from vidcarbon.carbon.accounting import Assumptions, cell_carbon
from vidcarbon.carbon.embodied import charged_hardware
from vidcarbon.carbon.intensity import resolve_scenario
from vidcarbon.config import load_hardware

POWER_W = 250.0
DURATION_S = 100.0  # any length: both ratios are independent of it


def carbon_at(source: str, power_w: float = POWER_W) -> dict:
    hardware = charged_hardware(
        "a100-80gb", "gpu", None, load_hardware(REPO / "config" / "hardware.yaml")
    )
    run = {
        "cell_id": "c",
        "model": "opensora",
        "prompt_id": "p",
        "resolution": "240p",
        "frames": 16,
        "steps": 100,
        "seed": 0,
        "lever": "baseline",
        "gpus": 1,
        "ulysses_degree": 1,
        "ring_degree": 1,
        "status": "ok",
        "gpu_method": "counter",
    }
    for phase, share in (("encode", 0.05), ("denoise", 0.9), ("decode", 0.05)):
        run[f"{phase}_duration_s"] = DURATION_S * share
        run[f"{phase}_energy_j"] = power_w * DURATION_S * share
        run[f"{phase}_net_energy_j"] = None
    scenario = resolve_scenario({"source": source}, "s")
    return cell_carbon(run, scenario, hardware, Assumptions(pue=1.2, lifetime_years=5))


def test_a100_embodied_is_acts_26_kg():
    assert carbon_at("wind")["unit_embodied_g"] == pytest.approx(26_000, rel=0.001)


def test_wind_operational_is_5_4x_embodied_84_percent():
    r = carbon_at("wind")
    ratio = r["operational_g"] / r["embodied_g"]
    assert ratio == pytest.approx(5.4, rel=0.05)
    assert ratio == pytest.approx(5.56, abs=0.01)  # what ACT's 26.0 kg gives at exactly 250 W
    assert 1 - r["embodied_fraction"] == pytest.approx(0.84, abs=0.01)
    # the power at which the paper's 5.4 is exact lies inside "~250 W"
    power_for_5_4 = POWER_W * 5.4 / ratio
    assert power_for_5_4 == pytest.approx(243, abs=1) and abs(power_for_5_4 / POWER_W - 1) < 0.05


def test_gas_embodied_is_0_4_percent():
    r = carbon_at("gas")
    assert round(100 * r["embodied_fraction"], 1) == 0.4
    # and it stays 0.4 % over the whole "~250 W" band
    for p in (0.95 * POWER_W, 1.05 * POWER_W):
        assert 0.35 <= 100 * carbon_at("gas", p)["embodied_fraction"] < 0.45


def test_embodied_is_negligible_under_every_fig2_source_but_the_cleanest():
    fractions = {s: carbon_at(s)["embodied_fraction"] for s in ("coal", "gas", "solar", "wind")}
    assert fractions["coal"] < fractions["gas"] < fractions["solar"] < fractions["wind"]
    assert fractions["coal"] < 0.003 and fractions["wind"] == pytest.approx(0.152, abs=0.005)
