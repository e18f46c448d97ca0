"""One fitted model: findings, the RQ5 charts, the credits and `estimate` give the same number
and interval for the same question."""

import json

import pandas as pd
import pytest

from tests.analysis.test_estimate import measured_runs
from vidcarbon.analysis import scaling
from vidcarbon.analysis.estimate import estimate
from vidcarbon.analysis.findings import RESOLUTION, findings_rows, summary_markdown
from vidcarbon.carbon.accounting import Assumptions
from vidcarbon.carbon.credits import Reference, credit_rows, fit_rows
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.errors import ConfigError
from vidcarbon.laws import CarbonRates, Interval, fit_models

GPU = ChargedHardware("gpu-x", "gpu", "gpu", "gpu-x", 26_000.0, None, {})
GAS = 490.0


def runs():
    table = measured_runs()
    table["threads"] = 1
    for phase, share in (("encode", 0.01), ("denoise", 0.9), ("decode", 0.09)):
        table[f"{phase}_energy_j"] = share * table.energy_j
        table[f"{phase}_duration_s"] = share * table.generation_duration_s
    return table


def carbon_rows(table: pd.DataFrame, scenario: str = "gas") -> pd.DataFrame:
    """carbon.parquet rows of `table` under `scenario`, Eq. 1 with the GPU above."""
    rates = CarbonRates.of(GAS, 1.2, GPU.embodied_g, Assumptions().used_lifetime_s)
    return table.assign(
        scenario=scenario,
        intensity_g_per_kwh=GAS,
        pue=1.2,
        lifetime_years=5.0,
        utilisation=1.0,
        unit_embodied_g=GPU.embodied_g,
        embodied_share=1.0,
        total_g=table.energy_j * rates.g_per_j + table.generation_duration_s * rates.g_per_s,
        prompt_id="p",
    )


def test_laws_recover_the_exponents_and_refuse_a_variable_never_varied():
    laws = fit_models(runs())["m"]
    assert laws.exponent("pixels").value == pytest.approx(1.2, abs=0.03)
    assert laws.exponent("steps", phase="denoise").value == pytest.approx(1.0, abs=0.03)
    assert (laws.fps, laws.sizes["240p"]) == (8, (240, 426))
    one_res = fit_models(runs().query("resolution == '240p'"))["m"]
    assert one_res.fixed == {"pixels": 240 * 426} and one_res.exponent("pixels") is None
    with pytest.raises(ConfigError, match="cannot predict pixels = 921600"):
        one_res.predict(steps=8, pixels=720 * 1280, frames=16)


def test_the_same_exponent_in_findings_credit_fits_and_the_rq5_chart():
    table = runs()
    finding = next(
        r for r in findings_rows(table) if r["kind"] == "claim" and r["name"] == RESOLUTION.name
    )
    fit = next(
        r
        for r in fit_rows(fit_models(table))
        if r["quantity"] == "energy_j" and r["variable"] == "pixels"
    )
    assert (fit["value"], fit["ci95_low"], fit["ci95_high"]) == (
        finding["value"],
        finding["ci_low"],
        finding["ci_high"],
    )
    chart = json.dumps(scaling.resolution_chart(table, carbon_rows(table), "gas").to_dict())
    expected = (
        f"energy ~ pixels^{finding['value']:.2f} (95 % CI {finding['ci_low']:.2f} .. "
        f"{finding['ci_high']:.2f})"
    )
    assert expected in chart


def test_the_same_energy_and_carbon_in_estimate_credits_and_the_rq5_chart():
    table = runs()
    rows, _ = credit_rows(
        table, [("240p", 16, 8)], Reference("240p", 16, 16, 10), GAS, GPU, Assumptions()
    )
    credit = rows[0]
    e = estimate(table, "m", "240p", 2.0, 8, "gas", embodied_g=GPU.embodied_g)
    assert (e.energy_j.low, e.energy_j.value, e.energy_j.high) == pytest.approx(
        (
            credit["predicted_energy_low_j"],
            credit["predicted_energy_j"],
            credit["predicted_energy_high_j"],
        ),
        rel=1e-12,
    )
    carbon = e.operational_g + e.embodied_g
    assert (carbon.low, carbon.value, carbon.high) == pytest.approx(
        (
            credit["predicted_carbon_low_g"],
            credit["predicted_carbon_g"],
            credit["predicted_carbon_high_g"],
        ),
        rel=1e-12,
    )
    # the RQ5 duration chart draws the same carbon at 240p, 16 steps, 16 frames
    spec = scaling.duration_chart(table, carbon_rows(table), "gas").to_dict()
    line = next(
        rows
        for rows in spec["datasets"].values()
        if rows and "high" in rows[0] and "duration_s" in rows[0]
    )
    end = max(line, key=lambda r: r["duration_s"])
    at16 = estimate(table, "m", "240p", 2.0, 16, "gas", embodied_g=GPU.embodied_g)
    expected = at16.operational_g + at16.embodied_g
    assert (end["low"], end["value"], end["high"]) == pytest.approx(
        (expected.low, expected.value, expected.high), rel=1e-9
    )


def test_carbon_of_a_prediction_adds_the_ends_of_its_two_parts():
    rates = CarbonRates(g_per_j=2.0, g_per_s=10.0)
    carbon = rates.carbon_g(Interval(1.0, 2.0, 3.0), Interval(0.1, 0.2, 0.4))
    assert (carbon.low, carbon.value, carbon.high) == pytest.approx((3.0, 6.0, 10.0))


def test_text_encoding_gets_no_law_and_findings_say_why():
    """Encoding is one measurement per prompt repeated on its cells: a fit would give exponents
    of exactly 0 with a zero-width interval, a precision that was never measured."""
    laws = fit_models(runs())["m"]
    assert ("energy_j", "encode") not in laws.fits
    assert "once per prompt" in laws.reasons[("energy_j", "encode")]
    assert laws.exponent("steps", phase="encode") is None
    with pytest.raises(ConfigError, match="no law of encode duration_s for 'm': not fitted"):
        laws.fit("duration_s", phase="encode")
    findings = pd.DataFrame(findings_rows(runs()))
    encode = findings[(findings.kind == "fit") & (findings.phase == "encode")]
    assert len(encode) == 2 and encode.value.isna().all() and encode.variable.isna().all()
    markdown = summary_markdown(findings)
    assert "| m | encode | energy_j | not fitted: text encoding is measured once" in markdown
    assert "| m | denoise | energy_j | 1.0" in markdown
