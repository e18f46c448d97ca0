"""Carbon-aware credits from laws fitted to measured cells."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from vidcarbon.carbon.accounting import Assumptions
from vidcarbon.carbon.credits import Reference, credit_rows, fit_rows, low_intensity_hours
from vidcarbon.carbon.embodied import ChargedHardware
from vidcarbon.carbon.intensity import HourlySeries

GPU = ChargedHardware("gpu-x", "gpu", "gpu", "gpu-x", 26_000.0, None, {})
PIXELS = {"144p": 144 * 256, "240p": 240 * 426, "360p": 360 * 640}
REF = Reference("240p", 16, 30, credits=10)
REF_CONFIG = ("240p", 16, 30)


def energy(res, frames, steps):
    """A law the fits can recover: steps^1 x pixels^2 x frames^1."""
    return 0.3 * steps * (PIXELS[res] / 1e5) ** 2 * frames


def runs(noise=0.0, drop=()):
    rng = np.random.default_rng(0)
    rows = []
    for res, frames, steps, _prompt in itertools.product(PIXELS, (16, 32), (10, 30, 50), "ab"):
        if (res, frames, steps) in drop:
            continue
        e = energy(res, frames, steps) * np.exp(noise * rng.normal())
        h, w = {"144p": (144, 256), "240p": (240, 426), "360p": (360, 640)}[res]
        rows.append(
            dict(
                model="m",
                resolution=res,
                frames=frames,
                fps=8,
                steps=steps,
                height=h,
                width=w,
                status="ok",
                threads=1,
                energy_j=e,
                generation_duration_s=e / 250.0,
            )
        )
    rows.append({**rows[0], "status": "oom", "energy_j": 1e9})  # must be ignored
    return pd.DataFrame(rows)


def configs():
    return [(r, f, s) for r, f, s in itertools.product(PIXELS, (16, 32), (10, 30, 50))]


def test_exact_laws_give_exact_credits():
    rows, laws = credit_rows(runs(), configs(), REF, 490.0, GPU, Assumptions())
    by = {(r["resolution"], r["frames"], r["steps"]): r for r in rows}
    assert by[("240p", 16, 30)]["credits"] == pytest.approx(10)
    # operational dominates at 490 g/kWh, so credits follow energy to within the embodied share
    for key, r in by.items():
        assert r["predicted_energy_j"] == pytest.approx(energy(*key), rel=1e-9)
        assert r["predicted_energy_low_j"] == pytest.approx(energy(*key), rel=1e-9)  # no noise
        assert r["prediction_error"] == pytest.approx(0, abs=1e-9)
        assert r["credits"] == pytest.approx(10 * energy(*key) / energy(*REF_CONFIG), rel=1e-3)
    fits = pd.DataFrame(fit_rows(laws))
    e = fits[fits.quantity == "energy_j"].set_index("variable").value
    assert (e["steps"], e["pixels"], e["frames"]) == pytest.approx((1, 2, 1))
    assert (fits.r2 > 0.999999).all() and set(fits.n) == {len(configs()) * 2}


def test_noisy_data_reports_fit_quality():
    rows, laws = credit_rows(runs(noise=0.05), configs(), REF, 490.0, GPU, Assumptions())
    fits = pd.DataFrame(fit_rows(laws))
    pixels = fits[(fits.quantity == "energy_j") & (fits.variable == "pixels")].iloc[0]
    assert pixels.ci95_low < 2 < pixels.ci95_high and pixels.r2 < 1 and pixels.n == 36
    r = next(r for r in rows if (r["resolution"], r["frames"], r["steps"]) == REF_CONFIG)
    assert r["predicted_energy_low_j"] < r["predicted_energy_j"] < r["predicted_energy_high_j"]


def test_a_law_without_data_leaves_credits_null_with_a_note():
    # only one frames value in the runs: no law of frames
    df = runs()
    df = df[df.frames == 16]
    rows, laws = credit_rows(
        df, [("240p", 16, 50), ("240p", 32, 30)], REF, 490.0, GPU, Assumptions()
    )
    assert rows[0]["credits"] is not None  # differs from the reference in steps only
    assert rows[1].get("credits") is None and "cannot predict frames = 32" in rows[1]["note"]
    assert any(r.get("note", "").startswith("not fitted: one value (16)") for r in fit_rows(laws))


def test_low_intensity_discount_from_the_series():
    start = dt.datetime(2024, 1, 1)
    hours = tuple(start + dt.timedelta(hours=i) for i in range(48))
    values = np.array([100.0 if 10 <= (i % 24) < 16 else 400.0 for i in range(48)])
    s = HourlySeries("mem", "r", hours, values)
    low, low_mean, mean = low_intensity_hours(s, 0.25)
    assert low == [10, 11, 12, 13, 14, 15] and low_mean == 100 and mean == 325
    rows, _ = credit_rows(runs(), [REF_CONFIG], REF, mean, GPU, Assumptions(), series=s)
    r = rows[0]
    # embodied is ~0.4 % at these intensities, so the factor is close to 100 / 325
    assert r["discount_factor"] == pytest.approx(100 / 325, rel=0.02)
    assert r["discount_factor"] > 100 / 325  # embodied does not get cheaper at night
    assert r["low_intensity_credits"] == pytest.approx(10 * r["discount_factor"])
