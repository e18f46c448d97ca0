"""Carbon by hour of day / month, and deferral to the lowest-carbon feasible start."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.conftest import REPO
from vidcarbon.carbon import synthetic
from vidcarbon.carbon.intensity import HourlySeries, read_hourly_csv
from vidcarbon.carbon.timeshift import by_period, defer, job_intensity


def series(values, start=dt.datetime(2024, 1, 1)) -> HourlySeries:
    hours = tuple(start + dt.timedelta(hours=i) for i in range(len(values)))
    return HourlySeries("mem", "test", hours, np.asarray(values, dtype=float))


def test_by_period_averages_each_hour_and_month():
    # two days: day 1 is 100 at every hour, day 2 is 300 except 500 at 07:00
    values = [100] * 24 + [300] * 24
    values[24 + 7] = 500
    periods = {(p.kind, p.period): p for p in by_period(series(values))}
    assert periods[("hour_of_day", 0)].intensity_g_per_kwh == 200
    assert periods[("hour_of_day", 7)].intensity_g_per_kwh == 300
    assert periods[("hour_of_day", 7)].hours == 2
    assert periods[("month", 1)].intensity_g_per_kwh == pytest.approx(np.mean(values))
    assert len(periods) == 24 + 1


def test_deferral_picks_the_minimum_in_the_window():
    values = [500, 400, 100, 450, 600, 50, 300, 300]
    d = defer(series(values), duration_s=600, deadline_h=3)
    # windows of 3 start hours: min of each: 100, 100, 100, 50, 50, 50
    assert d.submissions == 6
    assert d.deferred_intensity_g_per_kwh == pytest.approx(np.mean([100, 100, 100, 50, 50, 50]))
    assert d.immediate_intensity_g_per_kwh == pytest.approx(np.mean(values[:6]))
    assert d.mean_delay_h == pytest.approx(np.mean([2, 1, 0, 2, 1, 0]))
    assert 0 < d.intensity_saving_fraction < 1
    assert defer(series(values), 600, 1).intensity_saving_fraction == 0  # no slack, no saving


def test_a_multi_hour_job_averages_the_hours_it_spans():
    values = [100, 200, 400, 800]
    # 1.5 h: the first hour in full, the second for half of its weight
    assert job_intensity(series(values), 5400) == pytest.approx(
        [(100 + 0.5 * 200) / 1.5, (200 + 0.5 * 400) / 1.5, (400 + 0.5 * 800) / 1.5]
    )
    d = defer(series(values), 5400, deadline_h=2)  # 2 h slot for a 2-hour-long job: no choice
    assert d.submissions == 3 and d.mean_delay_h == 0
    with pytest.raises(ValueError, match="deadline 1 h is shorter than the job"):
        defer(series(values), 5400, deadline_h=1)


def test_shipped_synthetic_series_is_labelled_and_reproducible(tmp_path):
    shipped = REPO / "config" / "intensity" / "synthetic_hourly.csv"
    assert shipped.read_text().startswith("# SYNTHETIC")
    synthetic.write_csv(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == shipped.read_text()
    s = read_hourly_csv(shipped)
    assert len(s.hours) == 8760  # 2023, hourly, no gaps (read_hourly_csv checks it)
    hourly = {p.period: p.intensity_g_per_kwh for p in by_period(s) if p.kind == "hour_of_day"}
    monthly = {p.period: p.intensity_g_per_kwh for p in by_period(s) if p.kind == "month"}
    assert hourly[12] < hourly[3] < hourly[19]  # solar dip at noon, evening peak
    assert monthly[7] < monthly[1]  # summer cleaner than winter
