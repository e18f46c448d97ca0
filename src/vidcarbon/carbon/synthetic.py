"""A SYNTHETIC hourly grid-intensity series, for the default run and the tests (not real data).

Shape (g CO2e/kWh, hours on a naive local clock): a 380 g base; +/-60 g seasonal swing with
the peak in mid-January; a midday solar dip of up to 150 g, deeper in summer; an evening peak of
+50 g around 19:00; -20 g on weekends; AR(1) noise (phi 0.8, sigma 12 g), seed 0. Regenerate
the shipped file with `python -m vidcarbon.carbon.synthetic config/intensity/synthetic_hourly.csv`.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

HEADER = (
    "# SYNTHETIC hourly grid carbon intensity made by vidcarbon (vidcarbon.carbon.synthetic),\n"
    "# NOT measured data: a seasonal + daily-solar + evening-peak shape with seeded noise, for\n"
    "# the default run and the tests. Replace it with a real series (e.g. from your grid\n"
    "# operator or Electricity Maps) in carbon.scenarios. Columns: local hour, g CO2e/kWh.\n"
)


def synthetic_series(year: int = 2023, seed: int = 0) -> tuple[list[dt.datetime], np.ndarray]:
    start = dt.datetime(year, 1, 1)
    n = int((dt.datetime(year + 1, 1, 1) - start) / dt.timedelta(hours=1))
    hours = [start + dt.timedelta(hours=i) for i in range(n)]
    h = np.array([t.hour for t in hours], dtype=float)
    doy = np.array([t.timetuple().tm_yday for t in hours], dtype=float)
    weekend = np.array([t.weekday() >= 5 for t in hours])
    season = np.cos(2 * np.pi * (doy - 15) / 365.0)  # +1 mid-January, -1 mid-July
    solar = np.clip(np.sin(np.pi * (h - 6) / 12.0), 0, None) * (110 - 40 * season)
    evening = 50 * np.exp(-((h - 19) ** 2) / 4.0)
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    shocks = rng.normal(0, 12 * np.sqrt(1 - 0.8**2), n)
    for i in range(1, n):
        noise[i] = 0.8 * noise[i - 1] + shocks[i]
    values = 380 + 60 * season - solar + evening - 20 * weekend + noise
    return hours, np.round(np.clip(values, 50, None), 1)


def write_csv(path: str | Path, year: int = 2023, seed: int = 0) -> None:
    hours, values = synthetic_series(year, seed)
    lines = [f"{t.strftime('%Y-%m-%dT%H:%M')},{v:.1f}" for t, v in zip(hours, values, strict=True)]
    body = "timestamp,intensity_g_per_kwh\n" + "\n".join(lines) + "\n"
    Path(path).write_text(HEADER + body)


if __name__ == "__main__":
    write_csv(sys.argv[1])
