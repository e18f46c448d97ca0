"""Grid carbon-intensity scenarios: an energy source, a number, a country, or an hourly series.

Sources come from ACT's lifecycle medians (src/vidcarbon/data/act_coefficients.yaml); countries
from CodeCarbon's packaged `global_energy_mix.json` (Our World in Data), read as a data file so
that codecarbon's own code (and its hardware probing) is never imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from vidcarbon.errors import ConfigError
from vidcarbon.yamlio import parse_yaml

KINDS = ("source", "intensity_g_per_kwh", "country", "timeseries")


@cache
def act_tables() -> dict[str, Any]:
    """The ACT coefficient file shipped with the package."""
    text = importlib.resources.files("vidcarbon").joinpath("data/act_coefficients.yaml").read_text()
    return parse_yaml(text)


def source_intensity_g_per_kwh(source: str, key: str = "source") -> float:
    """ACT's lifecycle median for an energy source (g CO2e/kWh)."""
    table = act_tables()["intensity_by_source_g_per_kwh"]
    if source not in table:
        raise ConfigError(
            f"config key '{key}': energy source {source!r} is unknown; "
            f"allowed (ACT carbon_intensity/source): {', '.join(table)}"
        )
    return float(table[source])


@dataclass(frozen=True)
class CountryIntensity:
    """A country's grid intensity (g CO2e/kWh) from CodeCarbon's packaged energy-mix table."""

    iso_code: str
    country_name: str
    intensity_g_per_kwh: float
    year: int
    source: str


def _codecarbon_dir() -> Path:
    spec = importlib.util.find_spec("codecarbon")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "a 'country' carbon scenario needs the codecarbon package's data: "
            "pip install -c constraints.txt codecarbon"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def _energy_mix() -> tuple[dict[str, dict], str]:
    path = _codecarbon_dir() / "data" / "private_infra" / "global_energy_mix.json"
    version = importlib.metadata.version("codecarbon")
    label = f"Our World in Data via codecarbon {version} data/private_infra/global_energy_mix.json"
    return json.loads(path.read_text()), label


def country_intensity(country: str, key: str = "country") -> CountryIntensity:
    """Look a country up by ISO 3166 alpha-3 code or English name (case-insensitive)."""
    table, label = _energy_mix()
    wanted = country.strip().casefold()
    for iso, entry in table.items():
        if wanted in (iso.casefold(), str(entry.get("country_name", "")).casefold()):
            return CountryIntensity(
                iso_code=iso,
                country_name=entry["country_name"],
                intensity_g_per_kwh=float(entry["carbon_intensity"]),
                year=int(entry["year"]),
                source=label,
            )
    names = [*table, *(e.get("country_name", "") for e in table.values())]
    close = difflib.get_close_matches(country, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"config key '{key}': country {country!r} is not in {label} "
        f"(give an ISO 3166 alpha-3 code such as USA, FRA, DEU, or an English name){hint}"
    )


@dataclass(frozen=True)
class HourlySeries:
    """An hourly grid-intensity series: `hours` as written in the file, values in g CO2e/kWh."""

    path: str
    region: str
    hours: tuple[dt.datetime, ...]
    intensity_g_per_kwh: np.ndarray

    @property
    def mean_g_per_kwh(self) -> float:
        return float(self.intensity_g_per_kwh.mean())


def _csv_error(path, line: int, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{path}, line {line}: {problem}. Fix: {fix}")


def read_hourly_csv(path: str | Path, region: str | None = None) -> HourlySeries:
    """Read and check `timestamp,intensity_g_per_kwh` rows: hourly, increasing, no gaps, > 0.

    Lines starting with '#' are comments. Timestamps are ISO 8601; all naive or all with an
    offset. Hour of day and month are taken as written (the clock of the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"intensity time series '{path}' does not exist; check the path")
    hours: list[dt.datetime] = []
    values: list[float] = []
    header_seen = False
    with path.open(newline="") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if not header_seen:
                header = [c.strip() for c in row]
                if header != ["timestamp", "intensity_g_per_kwh"]:
                    raise _csv_error(
                        path,
                        line_no,
                        f"header is {','.join(header)!r}",
                        "the first non-comment line must be 'timestamp,intensity_g_per_kwh'",
                    )
                header_seen = True
                continue
            if len(row) != 2:
                raise _csv_error(
                    path, line_no, f"{len(row)} fields", "write 'timestamp,g_per_kwh' on each line"
                )
            stamp, value = row[0].strip(), row[1].strip()
            try:
                t = dt.datetime.fromisoformat(stamp)
            except ValueError:
                raise _csv_error(
                    path,
                    line_no,
                    f"timestamp {stamp!r} is not ISO 8601",
                    "write timestamps like 2024-01-01T00:00 or 2024-01-01T00:00+00:00",
                ) from None
            try:
                g = float(value)
            except ValueError:
                raise _csv_error(
                    path,
                    line_no,
                    f"intensity {value!r} is not a number",
                    "write the intensity in g CO2e/kWh as a plain number, e.g. 412.5",
                ) from None
            if not math.isfinite(g) or g <= 0:
                raise _csv_error(
                    path,
                    line_no,
                    f"intensity {value!r} is not > 0",
                    "give a positive, finite g CO2e/kWh value",
                )
            if hours:
                prev = hours[-1]
                if (prev.tzinfo is None) != (t.tzinfo is None):
                    raise _csv_error(
                        path,
                        line_no,
                        f"timestamp {stamp!r} mixes naive and offset times",
                        "give every timestamp an offset, or none",
                    )
                step = t - prev
                if step <= dt.timedelta(0):
                    raise _csv_error(
                        path,
                        line_no,
                        f"timestamp {stamp!r} is not after {prev.isoformat()}",
                        "sort the rows by time and remove duplicates",
                    )
                if step != dt.timedelta(hours=1):
                    problem = f"timestamp {stamp!r} is {step} after {prev.isoformat()}, not 1 h"
                    if step > dt.timedelta(hours=1):
                        missing = math.ceil(step / dt.timedelta(hours=1)) - 1
                        problem += f" ({missing} hour(s) missing)"
                    raise _csv_error(
                        path,
                        line_no,
                        problem,
                        "give one row per hour without gaps (fill or interpolate missing hours)",
                    )
            hours.append(t)
            values.append(g)
    if len(values) < 24:
        raise ConfigError(
            f"{path}: {len(values)} hourly rows; give at least 24 (one day) after the header "
            "'timestamp,intensity_g_per_kwh'"
        )
    return HourlySeries(
        path=str(path),
        region=region or path.stem,
        hours=tuple(hours),
        intensity_g_per_kwh=np.asarray(values, dtype=float),
    )


@dataclass(frozen=True)
class Scenario:
    """One intensity scenario, resolved: for a time series, the intensity is the series mean."""

    name: str
    kind: str  # source | number | country | timeseries
    intensity_g_per_kwh: float
    data_source: str
    data_year: int | None = None
    region: str | None = None
    series_path: str | None = None

    def as_params(self) -> dict[str, Any]:
        return asdict(self)


def resolve_scenario(spec: dict[str, Any], key: str) -> Scenario:
    """Turn one `carbon.scenarios[i]` entry into a Scenario (raises ConfigError)."""
    given = [k for k in KINDS if spec.get(k) is not None]
    if len(given) != 1:
        raise ConfigError(
            f"config key '{key}': {spec!r} gives {len(given)} of {', '.join(KINDS)}; "
            "give exactly one, e.g. {source: wind} or {intensity_g_per_kwh: 300}"
        )
    kind = given[0]
    if kind == "source":
        src = spec["source"]
        value = source_intensity_g_per_kwh(src, key=f"{key}.source")
        return Scenario(
            name=spec.get("name") or src,
            kind="source",
            intensity_g_per_kwh=value,
            data_source=f"ACT carbon_intensity/source (Gupta et al., ISCA'22): {src} lifecycle "
            "median",
            region=spec.get("region"),
        )
    if kind == "intensity_g_per_kwh":
        value = float(spec["intensity_g_per_kwh"])
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(
                f"config key '{key}.intensity_g_per_kwh': {value!r} is not allowed; it must be > 0"
            )
        return Scenario(
            name=spec.get("name") or f"{value:g}g",
            kind="number",
            intensity_g_per_kwh=value,
            data_source="given in the configuration",
            region=spec.get("region"),
        )
    if kind == "country":
        c = country_intensity(str(spec["country"]), key=f"{key}.country")
        return Scenario(
            name=spec.get("name") or c.iso_code,
            kind="country",
            intensity_g_per_kwh=c.intensity_g_per_kwh,
            data_source=c.source,
            data_year=c.year,
            region=f"{c.iso_code} ({c.country_name})",
        )
    series = read_hourly_csv(spec["timeseries"], region=spec.get("region"))
    return Scenario(
        name=spec.get("name") or series.region,
        kind="timeseries",
        intensity_g_per_kwh=series.mean_g_per_kwh,
        data_source=f"hourly series {series.path} ({len(series.hours)} h from "
        f"{series.hours[0].isoformat()} to {series.hours[-1].isoformat()}); mean used here",
        data_year=series.hours[0].year,
        region=series.region,
        series_path=series.path,
    )


def resolve_scenarios(specs: list[dict[str, Any]], key: str = "carbon.scenarios") -> list[Scenario]:
    """Resolve every scenario; names must be unique."""
    scenarios = [resolve_scenario(s, f"{key}[{i}]") for i, s in enumerate(specs)]
    seen: set[str] = set()
    for i, s in enumerate(scenarios):
        if s.name in seen:
            raise ConfigError(
                f"config key '{key}[{i}]': scenario name {s.name!r} is used twice; "
                "give each scenario a distinct `name`"
            )
        seen.add(s.name)
    return scenarios
