"""The parallel table: each cell on several devices beside its one-device cell (the same keys on
one device), the latency, energy and carbon of one video, and the energy each halving of
latency costs; its findings and chart (docs/parallel.md)."""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from vidcarbon.analysis.embodied import headline
from vidcarbon.analysis.shared_counters import shared
from vidcarbon.grid import parse_cell_id
from vidcarbon.tables import (
    CELL_KEY_NAMES,
    PhaseColumns,
    provenance,
    read_table,
    write_table,
)

log = logging.getLogger(__name__)

# A video's generate job; text encoding is a one-device job per prompt, the same for both cells.
VIDEO_PHASES = ("denoise", "decode")
SHARED = "another process drove a device-wide energy counter during its job (runs.shared_detail)"


def per_halving(ratio: float, speedup: float) -> float | None:
    """The fractional increase of `ratio` (a cost on N devices over one device's) per halving
    of latency, where latency fell by `speedup` (t1 / tN): ratio ** (1 / log2(speedup)) - 1.
    None where latency did not fall (speedup <= 1)."""
    if not speedup > 1:
        return None
    return ratio ** (1 / math.log2(speedup)) - 1


def layout_name(gpus: int, ulysses: int, ring: int) -> str:
    return f"{gpus} GPUs (ulysses {ulysses} x ring {ring})"


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _figures(run: pd.Series, carbon: pd.Series) -> dict[str, float | None]:
    """One video's figures of a cell (tables.PARALLEL_FIGURES): denoising + decoding."""
    phases = [PhaseColumns(p) for p in VIDEO_PHASES]
    sums = {
        "latency_s": sum(run[p.duration] for p in phases),
        "energy_j": sum(run[p.energy] for p in phases),
        "net_energy_j": sum(run[p.net_energy] for p in phases),
        **{
            name: sum(carbon[f"{p.phase}_{part}_g"] for p in phases)
            for name, part in (
                ("operational_g", "operational"),
                ("embodied_g", "embodied"),
                ("carbon_g", "carbon"),
            )
        },
    }
    return {name: _number(value) for name, value in sums.items()}


def _status(cells: pd.DataFrame, cell_id: str, one_id: str) -> tuple[str, str | None]:
    """ok, or why a parallel row has no figures (the runs table's status, error and flags)."""
    if one_id not in cells.index:
        return "one-device missing", f"no runs row {one_id}"
    for who, key in (("parallel", cell_id), ("one-device", one_id)):
        if cells.at[key, "status"] != "ok":
            return f"{who} {cells.at[key, 'status']}", cells.at[key, "error"]
    for who, key in (("parallel", cell_id), ("one-device", one_id)):
        if cells.at[key, "shared"]:
            return f"{who} shared counter", f"{key}: {SHARED}"
    return "ok", None


def parallel_rows(runs: pd.DataFrame, carbon: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per (cell on several devices, scenario), with the headline embodied carbon
    (ACT's); a failed cell (or one-device cell) is a row with its status, error and failed
    rank, and no figures."""
    cells = runs.assign(shared=shared(runs)).set_index("cell_id")
    carbon = headline(carbon)
    by_key = carbon.set_index(["cell_id", "scenario"])
    rows = []
    for found in carbon[carbon.gpus > 1].to_dict("records"):
        cell_id, scenario = found["cell_id"], found["scenario"]
        one_id = parse_cell_id(cell_id).baseline.cell_id
        status, error = _status(cells, cell_id, one_id)
        run = cells.loc[cell_id]
        failed_rank = _number(run["failed_rank"])
        row: dict[str, Any] = {
            **{k: found[k] for k in CELL_KEY_NAMES},
            "one_device_cell_id": one_id,
            "status": status,
            "error": error,
            "failed_rank": None if failed_rank is None else int(failed_rank),
            "device_name": run["device_name"],
            "scenario": scenario,
            "intensity_g_per_kwh": found["intensity_g_per_kwh"],
        }
        if status != "ok":
            row["halving_missing_reason"] = f"no figures: {status}"
            rows.append(row)
            continue
        mine = _figures(run, pd.Series(found))
        one = _figures(cells.loc[one_id], by_key.loc[(one_id, scenario)])
        row.update(mine)
        row.update({f"one_device_{name}": value for name, value in one.items()})
        speedup = one["latency_s"] / mine["latency_s"]
        row["speedup"] = speedup
        row["energy_ratio"] = mine["energy_j"] / one["energy_j"]
        row["carbon_ratio"] = mine["carbon_g"] / one["carbon_g"]
        row["energy_per_latency_halving"] = per_halving(row["energy_ratio"], speedup)
        row["carbon_per_latency_halving"] = per_halving(row["carbon_ratio"], speedup)
        if row["energy_per_latency_halving"] is None:
            row["halving_missing_reason"] = (
                f"latency did not fall: {mine['latency_s']:.3g} s on {found['gpus']} devices, "
                f"{one['latency_s']:.3g} s on one (speedup {speedup:.3g}x)"
            )
        rows.append(row)
    return rows


def write_parallel(runs_path: str, carbon_path: str, out_path: str, config_hash: str) -> None:
    """Rule parallel: results/parallel.parquet from the runs and carbon tables."""
    runs = read_table("runs", runs_path).to_pandas()
    carbon = read_table("carbon", carbon_path).to_pandas()
    rows = parallel_rows(runs, carbon)
    meta = provenance(config_hash, sorted(set(runs.hostname.dropna())), [])
    write_table("parallel", rows, out_path, meta)
    log.info("wrote parallel (%d rows) to %s", len(rows), out_path)


LAYOUT = ["model", "gpus", "ulysses_degree", "ring_degree"]


def parallel_findings(parallel: pd.DataFrame, scenario: str) -> list[dict]:
    """Findings rows (kind parallel), one per model and layout: the energy each halving of
    latency costs (mean over its cells, range where more than one), with the speedup and
    energy ratio; cells without figures, or whose latency did not fall, are counted in
    `detail`."""
    rows = []
    at = parallel[parallel.scenario == scenario]
    for (model, gpus, ulysses, ring), cells in at.groupby(LAYOUT):
        name = f"energy per halving of latency on {layout_name(gpus, ulysses, ring)}"
        row = {
            "kind": "parallel",
            "model": model,
            "name": name,
            "unit": "fraction",
            "quantity": "energy_j",
            "gpus": int(gpus),
        }
        ok = cells[cells.status == "ok"]
        fell = ok[ok.energy_per_latency_halving.notna()]
        notes = [
            f"{_cells(n)} {status}"
            for status, n in cells.status[cells.status != "ok"].value_counts().items()
        ]
        if len(ok) > len(fell):
            notes.append(f"{_cells(len(ok) - len(fell))} whose latency did not fall")
        if fell.empty:
            detail = "no cell with a figure" + (f": {'; '.join(notes)}" if notes else "")
            rows.append({**row, "detail": detail})
            continue
        spread = {}
        if len(fell) > 1:
            spread = {
                "ci_low": float(fell.energy_per_latency_halving.min()),
                "ci_high": float(fell.energy_per_latency_halving.max()),
                "interval": "range over the layout's cells (prompts, shapes, seeds)",
            }
        cells_word = "one cell" if len(fell) == 1 else f"mean of {_cells(len(fell))}"
        detail = (
            f"speedup {fell.speedup.mean():.3g}x, energy {fell.energy_ratio.mean():.3g}x the "
            f"one-device cell's ({cells_word}); carbon {fell.carbon_ratio.mean():.3g}x, "
            f"{fell.carbon_per_latency_halving.mean():.1%} per halving at scenario {scenario}"
        )
        rows.append(
            {
                **row,
                "value": float(fell.energy_per_latency_halving.mean()),
                **spread,
                "n": len(fell),
                "detail": "; ".join([detail, *notes]),
            }
        )
    return rows


def _cells(n: int) -> str:
    return "one cell" if n == 1 else f"{n} cells"


def parallel_markdown(findings: pd.DataFrame) -> list[str]:
    """The parallel findings as Markdown lines (none without parallel rows)."""
    found = findings[findings.kind == "parallel"]
    if found.empty:
        return []
    lines = [
        "## Parallel cells: the energy each halving of latency costs",
        "",
        "One video on N GPUs against the same cell on one GPU: speedup t1 / tN, energy ratio "
        "EN / E1 (denoising + decoding; text encoding, a one-device job, left out) and the "
        "energy increase per halving of latency, (EN / E1) ** (1 / log2(t1 / tN)) - 1 "
        "(results/parallel.parquet).",
        "",
        "| model | layout | energy per halving of latency | range over cells | cells | how |",
        "|---|---|---|---|---|---|",
    ]
    for f in found.itertuples():
        value = "" if pd.isna(f.value) else f"{f.value:.1%}"
        if not value:
            spread = ""
        elif pd.isna(f.ci_low):
            spread = "[no interval]"
        else:
            spread = f"[{f.ci_low:.1%}, {f.ci_high:.1%}]"
        n = "" if pd.isna(f.n) else int(f.n)
        layout = f.name.removeprefix("energy per halving of latency on ")
        lines.append(f"| {f.model} | {layout} | {value} | {spread} | {n} | {f.detail} |")
    return [*lines, ""]


CHART_TITLE = "Latency and energy of one video against the GPUs it runs on"


def chart_points(parallel: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The ok rows at `scenario` as points: per cell and layout a series of two, its
    one-device cell at gpus 1 and the cell at its gpus, each labelled."""
    ok = parallel[(parallel.status == "ok") & (parallel.scenario == scenario)]
    points = []
    for r in ok.itertuples():
        layout = layout_name(r.gpus, r.ulysses_degree, r.ring_degree)
        series = {
            "model": r.model,
            "series": f"{r.one_device_cell_id.split('/', 1)[1]} on {layout}",
            "cell": r.cell_id,
        }
        points.append(
            {
                **series,
                "gpus": 1,
                "layout": "one device",
                "latency_s": r.one_device_latency_s,
                "energy_j": r.one_device_energy_j,
                "carbon_g": r.one_device_carbon_g,
                "latency_label": "",
                "energy_label": "",
            }
        )
        halving = r.energy_per_latency_halving
        points.append(
            {
                **series,
                "gpus": int(r.gpus),
                "layout": layout,
                "latency_s": r.latency_s,
                "energy_j": r.energy_j,
                "carbon_g": r.carbon_g,
                "speedup": r.speedup,
                "energy_ratio": r.energy_ratio,
                "energy_per_latency_halving": halving,
                "latency_label": f"{r.speedup:.2g}x faster"
                if r.speedup >= 1
                else f"{1 / r.speedup:.2g}x slower",
                "energy_label": f"{r.energy_ratio - 1:+.0%}"
                + ("" if pd.isna(halving) else f" ({halving:+.0%} per halving)"),
            }
        )
    return pd.DataFrame(points)


def parallel_chart(parallel: pd.DataFrame, scenario: str):
    """Per model, two panels on one GPUs axis: latency and energy of one video (denoising +
    decoding), the one-device cell at 1 GPU joined to each layout's cell."""
    import altair as alt

    from vidcarbon.analysis.render import no_data

    if parallel.empty:
        return no_data(CHART_TITLE, "no parallel cells (config parallel:)")
    points = chart_points(parallel, scenario)
    if points.empty:
        statuses = ", ".join(sorted(set(parallel.status)))
        return no_data(CHART_TITLE, f"no parallel cell with figures ({statuses})")
    layouts = list(dict.fromkeys(points.sort_values(["gpus", "layout"]).layout))
    rows = [
        alt.hconcat(
            *[
                _panel(alt, cells, layouts, *what)
                for what in (
                    ("latency_s", "latency per video (s)", "latency_label"),
                    ("energy_j", "energy per video (J)", "energy_label"),
                )
            ]
        ).properties(title=alt.TitleParams(model, anchor="start"))
        for model, cells in points.groupby("model")
    ]
    subtitle = [
        "each cell on N GPUs (context parallelism) joined to the same cell on one GPU; "
        "denoising + decoding, text encoding (a one-device job) left out",
        "energy: every GPU of the cell counted once; labels: speedup, energy against one GPU "
        "and per halving of latency",
    ]
    at = parallel[parallel.scenario == scenario]
    missing = at.status[at.status != "ok"].value_counts()
    if len(missing):
        said = ", ".join(f"{n} {status}" for status, n in missing.items())
        subtitle.append(f"no point for the cells without figures: {said} (parallel.parquet)")
    return alt.vconcat(*rows).properties(
        title=alt.TitleParams(CHART_TITLE, subtitle=subtitle, anchor="start")
    )


def _panel(alt, points: pd.DataFrame, layouts: list[str], y: str, title: str, label: str):
    gpus = sorted(set(points.gpus))
    base = alt.Chart(points).encode(
        x=alt.X(
            "gpus:Q",
            title="GPUs per video (N, log scale)",
            scale=alt.Scale(type="log", base=2, domain=[0.85, gpus[-1] * 1.15], nice=False),
            axis=alt.Axis(values=gpus, format="d"),
        ),
        y=alt.Y(f"{y}:Q", title=title),
    )
    line = base.mark_line(color="gray", strokeDash=[4, 3]).encode(detail="series:N")
    dots = base.mark_point(size=90, filled=True).encode(
        color=alt.Color("layout:N", title="layout", sort=layouts),
        tooltip=[
            "cell",
            "layout",
            alt.Tooltip(f"{y}:Q", format=".4g"),
            alt.Tooltip("carbon_g:Q", format=".3g"),
            alt.Tooltip("speedup:Q", format=".3g"),
            alt.Tooltip("energy_ratio:Q", format=".3g"),
            alt.Tooltip("energy_per_latency_halving:Q", format=".1%"),
        ],
    )
    text = base.mark_text(dx=8, align="left", fontSize=11).encode(text=f"{label}:N")
    return alt.layer(line, dots, text).properties(width=300, height=240)
