"""Scaling-law fits: ordinary least squares in log-log space, with confidence intervals and R².

A power law y = c * x1^a1 * x2^a2 ... is fitted as log y = log c + a1 log x1 + ...; with a
full-factorial grid the exponents separate cleanly. Linear fits (y = a + b x) serve where a
fixed cost (text encoding, decoding) sits beside a proportional one (denoising steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Coefficient:
    """One fitted coefficient with its two-sided confidence interval."""

    name: str
    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Fit:
    """A least-squares fit: `coefficients` (intercept first), R² and the number of points."""

    kind: str  # "power" (log-log) or "linear"
    coefficients: tuple[Coefficient, ...]
    r2: float
    n: int
    x_range: dict[str, tuple[float, float]]
    covariance: tuple[tuple[float, ...], ...] = ()  # of the coefficients
    residual_variance: float = 0.0
    dof: int = 0

    def __getitem__(self, name: str) -> Coefficient:
        for c in self.coefficients:
            if c.name == name:
                return c
        raise KeyError(name)

    def predict(self, **x: float) -> float:
        names = [c.name for c in self.coefficients[1:]]
        values = np.array([x[n] for n in names], dtype=float)
        beta = np.array([c.value for c in self.coefficients])
        if self.kind == "power":
            return float(np.exp(beta[0] + beta[1:] @ np.log(values)))
        return float(beta[0] + beta[1:] @ values)

    def predict_interval(self, level: float = 0.95, **x: float) -> tuple[float, float, float]:
        """(low, predicted, high): a prediction interval for one new observation at `x`.

        For a power law the interval is computed in log space, so it is asymmetric."""
        names = [c.name for c in self.coefficients[1:]]
        values = np.array([x[n] for n in names], dtype=float)
        row = np.concatenate([[1.0], np.log(values) if self.kind == "power" else values])
        beta = np.array([c.value for c in self.coefficients])
        mid = float(row @ beta)
        variance = float(row @ np.array(self.covariance) @ row) + self.residual_variance
        half = float(stats.t.ppf(0.5 + level / 2, self.dof) * np.sqrt(variance))
        if self.kind == "power":
            return float(np.exp(mid - half)), float(np.exp(mid)), float(np.exp(mid + half))
        return mid - half, mid, mid + half

    def extrapolates(self, **x: float) -> list[str]:
        """Names of the variables whose value lies outside the range fitted on."""
        return [n for n, v in x.items() if not (self.x_range[n][0] <= v <= self.x_range[n][1])]


def _ols(design: np.ndarray, y: np.ndarray, names: list[str], kind: str, x_range, level: float):
    n, k = design.shape
    if n <= k:
        raise ValueError(f"need more than {k} points to fit {k} coefficients, got {n}")
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    ss_res = float(residuals @ residuals)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    sigma2 = ss_res / (n - k)
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    half = stats.t.ppf(0.5 + level / 2, n - k) * np.sqrt(np.diag(cov))
    coefficients = tuple(
        Coefficient(name, float(b), float(b - h), float(b + h))
        for name, b, h in zip(["intercept", *names], beta, half, strict=True)
    )
    return Fit(kind, coefficients, r2, n, x_range, tuple(map(tuple, cov)), float(sigma2), n - k)


def fit_power_law(y, level: float = 0.95, **x) -> Fit:
    """Fit y = c * prod(x_i ^ a_i); all values must be positive."""
    y = np.asarray(y, dtype=float)
    columns = {name: np.asarray(v, dtype=float) for name, v in x.items()}
    if (y <= 0).any() or any((v <= 0).any() for v in columns.values()):
        raise ValueError("a power-law fit needs positive values")
    design = np.column_stack([np.ones_like(y), *[np.log(v) for v in columns.values()]])
    x_range = {n: (float(v.min()), float(v.max())) for n, v in columns.items()}
    return _ols(design, np.log(y), list(columns), "power", x_range, level)


def fit_linear(y, level: float = 0.95, **x) -> Fit:
    """Fit y = a + sum(b_i * x_i)."""
    y = np.asarray(y, dtype=float)
    columns = {name: np.asarray(v, dtype=float) for name, v in x.items()}
    design = np.column_stack([np.ones_like(y), *columns.values()])
    x_range = {n: (float(v.min()), float(v.max())) for n, v in columns.items()}
    return _ols(design, y, list(columns), "linear", x_range, level)
