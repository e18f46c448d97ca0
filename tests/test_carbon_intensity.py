"""Intensity scenarios: ACT sources, numbers, CodeCarbon countries, hourly CSV validation."""

from __future__ import annotations

import pytest

from vidcarbon.carbon.intensity import (
    country_intensity,
    read_hourly_csv,
    resolve_scenario,
    resolve_scenarios,
    source_intensity_g_per_kwh,
)
from vidcarbon.errors import ConfigError

HEADER = "timestamp,intensity_g_per_kwh\n"


def hourly(n: int = 48, start_day: int = 1, value=lambda i: 100 + i) -> str:
    return "".join(
        f"2024-01-{start_day + i // 24:02d}T{i % 24:02d}:00,{value(i)}\n" for i in range(n)
    )


def write(tmp_path, text: str, name: str = "s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_act_source_table_is_the_papers():
    table = {s: source_intensity_g_per_kwh(s) for s in ("coal", "gas", "wind", "hydro")}
    assert table == {"coal": 820, "gas": 490, "wind": 11, "hydro": 24}
    with pytest.raises(ConfigError, match=r"energy source 'oil' is unknown; allowed .*coal"):
        source_intensity_g_per_kwh("oil")


def test_country_from_codecarbon_data_with_year_and_source():
    usa = country_intensity("usa")
    assert (usa.iso_code, usa.intensity_g_per_kwh, usa.year) == ("USA", 369.473, 2023)
    assert "Our World in Data" in usa.source and "codecarbon" in usa.source
    assert country_intensity("France").iso_code == "FRA"
    with pytest.raises(ConfigError, match=r"country 'Frnace' is not in .*did you mean France"):
        country_intensity("Frnace")


def test_scenario_kinds_and_names(tmp_path):
    series = write(tmp_path, HEADER + hourly(), "grid.csv")
    specs = [
        {"source": "gas"},
        {"intensity_g_per_kwh": 300},
        {"country": "DEU"},
        {"timeseries": str(series), "name": "grid"},
    ]
    got = resolve_scenarios(specs)
    assert [(s.name, s.kind) for s in got] == [
        ("gas", "source"),
        ("300g", "number"),
        ("DEU", "country"),
        ("grid", "timeseries"),
    ]
    assert got[2].data_year == 2023 and got[2].intensity_g_per_kwh == pytest.approx(380.95, 0.01)
    assert got[3].intensity_g_per_kwh == pytest.approx(100 + 47 / 2)  # mean of 100..147


@pytest.mark.parametrize(
    "spec, message",
    [
        ({}, "gives 0 of source"),
        ({"source": "gas", "country": "USA"}, "gives 2 of source"),
        ({"intensity_g_per_kwh": 0}, r"carbon.scenarios\[0\].intensity_g_per_kwh': 0"),
        ({"intensity_g_per_kwh": -5}, "it must be > 0"),
        ({"country": "Atlantis"}, "country 'Atlantis' is not in"),
        ({"source": "peat"}, "energy source 'peat' is unknown"),
    ],
)
def test_bad_scenarios_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message):
        resolve_scenario(spec, "carbon.scenarios[0]")


def test_duplicate_scenario_names_are_refused():
    with pytest.raises(ConfigError, match=r"scenarios\[1\].*'gas' is used twice"):
        resolve_scenarios([{"source": "gas"}, {"intensity_g_per_kwh": 5, "name": "gas"}])


def test_good_series_with_comments_and_offsets(tmp_path):
    rows = "".join(f"2024-03-01T{h:02d}:00+01:00,{50 + h}\n" for h in range(24))
    s = read_hourly_csv(write(tmp_path, "# synthetic\n" + HEADER + rows), region="X")
    assert len(s.hours) == 24 and s.hours[5].hour == 5 and s.region == "X"
    assert s.intensity_g_per_kwh[23] == 73


@pytest.mark.parametrize(
    "body, line, problem",
    [
        # the header is line 1, so hour h of day 1 is on line h + 2
        (hourly(30).replace("2024-01-01T05:00,105\n", ""), 7, r"not 1 h \(1 hour\(s\) missing\)"),
        (hourly(30).replace("T03:00,103", "T02:00,103"), 5, "is not after 2024-01-01T02:00"),
        (hourly(30).replace("T04:00,104", "T03:30,104"), 6, "0:30:00 after"),
        (hourly(30).replace(",107", ",n/a"), 9, "intensity 'n/a' is not a number"),
        (hourly(30).replace(",107", ",0"), 9, "intensity '0' is not > 0"),
        (hourly(30).replace(",107", ",-3"), 9, "intensity '-3' is not > 0"),
        (hourly(30).replace("2024-01-01T06:00", "yesterday"), 8, "'yesterday' is not ISO 8601"),
        (hourly(30).replace("T08:00", "T08:00+00:00"), 10, "mixes naive and offset"),
        (hourly(30).replace(",110", ",110,1"), 12, "3 fields"),
    ],
)
def test_bad_series_names_file_line_and_fix(tmp_path, body, line, problem):
    path = write(tmp_path, HEADER + body)
    with pytest.raises(ConfigError, match=problem) as err:
        read_hourly_csv(path)
    assert f"{path}, line {line}:" in str(err.value)
    assert "Fix:" in str(err.value)


def test_bad_header_and_short_series(tmp_path):
    with pytest.raises(ConfigError, match="line 1: header is 'time,g'"):
        read_hourly_csv(write(tmp_path, "time,g\n" + hourly(30)))
    with pytest.raises(ConfigError, match="10 hourly rows; give at least 24"):
        read_hourly_csv(write(tmp_path, HEADER + hourly(10)))
    with pytest.raises(ConfigError, match="does not exist"):
        read_hourly_csv(tmp_path / "absent.csv")
