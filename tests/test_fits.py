import numpy as np
import pytest

from vidcarbon.fits import fit_linear, fit_power_law


def grid():
    steps, pixels, frames = np.meshgrid([4, 8, 16, 32], [36864, 102240, 230400], [8, 16, 32])
    return steps.ravel(), pixels.ravel(), frames.ravel()


def test_power_law_recovers_known_exponents_with_noise():
    steps, pixels, frames = grid()
    rng = np.random.default_rng(0)
    y = 3e-6 * steps**1.0 * pixels**1.4 * frames**1.1 * rng.lognormal(0, 0.05, steps.size)
    fit = fit_power_law(y, steps=steps, pixels=pixels, frames=frames)
    for name, true in (("steps", 1.0), ("pixels", 1.4), ("frames", 1.1)):
        c = fit[name]
        assert c.ci_low < true < c.ci_high
        assert abs(c.value - true) < 0.05
    assert fit.r2 > 0.99 and fit.n == steps.size
    assert fit.predict(steps=8, pixels=102240, frames=16) == pytest.approx(
        3e-6 * 8 * 102240**1.4 * 16**1.1, rel=0.1
    )
    assert fit.extrapolates(steps=100, pixels=102240, frames=16) == ["steps"]


def test_linear_fit_exact():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = fit_linear(2.0 + 0.5 * x, x=x)
    assert fit["x"].value == pytest.approx(0.5) and fit["intercept"].value == pytest.approx(2.0)
    assert fit.r2 == pytest.approx(1.0)


def test_fits_refuse_bad_input():
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1.0, 0.0, 2.0], x=[1, 2, 3])
    with pytest.raises(ValueError, match="more than 2 points"):
        fit_linear([1.0, 2.0], x=[1, 2])
