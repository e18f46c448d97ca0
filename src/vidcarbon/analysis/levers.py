"""The levers table: each lever cell beside its baseline cell, what it saves, and its video's
fidelity to the baseline's; and the best lever per model above a fidelity floor."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from vidcarbon.analysis.embodied import headline
from vidcarbon.grid import BASELINE, parse_cell_id
from vidcarbon.quality.fidelity import METHOD, Fidelity, fidelity
from vidcarbon.records import file_state, read_json, write_json_atomic
from vidcarbon.tables import LEVER_FIGURES, provenance, read_table, write_table

log = logging.getLogger(__name__)

_RUN_COLUMNS = [name for name, *_ in LEVER_FIGURES if not name.endswith("_g")]
_CARBON_COLUMNS = [name for name, *_ in LEVER_FIGURES if name.endswith("_g")]


def _status(cells: pd.DataFrame, cell_id: str, baseline_id: str) -> tuple[str, str | None]:
    """ok, or why a lever row has no figures (from the runs table's status and error)."""
    if baseline_id not in cells.index:
        return "baseline missing", f"no runs row {baseline_id}"
    lever, baseline = cells.loc[cell_id], cells.loc[baseline_id]
    if lever["status"] != "ok":
        return f"lever {lever['status']}", lever["error"]
    if baseline["status"] != "ok":
        return f"baseline {baseline['status']}", baseline["error"]
    return "ok", None


def lever_rows(
    runs: pd.DataFrame, carbon: pd.DataFrame, fidelity: dict[str, Any], kinds: dict[str, str]
) -> list[dict[str, Any]]:
    """One row per (lever cell, scenario), with the headline embodied carbon (ACT's).
    `fidelity`: lever cell_id -> `Fidelity` (where both videos are ok); `kinds`: lever name
    -> its `lever_kinds`."""
    cells = runs.set_index("cell_id")
    figures = headline(carbon).merge(
        runs[["cell_id", *_RUN_COLUMNS]], on="cell_id", suffixes=("", "_run")
    )
    by_key = figures.set_index(["cell_id", "scenario"])
    rows = []
    for lever_row in figures[figures.lever != BASELINE].to_dict("records"):
        cell_id, scenario = lever_row["cell_id"], lever_row["scenario"]
        baseline_id = parse_cell_id(cell_id).baseline.cell_id
        status, error = _status(cells, cell_id, baseline_id)
        run = cells.loc[cell_id]
        row = {
            **{k: lever_row[k] for k in ("model", "prompt_id", "resolution", "frames", "steps")},
            **{k: lever_row[k] for k in ("seed", "lever", "cell_id", "scenario")},
            **{k: int(lever_row[k]) for k in ("gpus", "ulysses_degree", "ring_degree")},
            "baseline_cell_id": baseline_id,
            "lever_kinds": kinds.get(lever_row["lever"]),
            "steps_run": run["steps_run"],
            "status": status,
            "error": error,
            "device_name": run["device_name"],
            "cpu_method": run["cpu_method"],
            "intensity_g_per_kwh": lever_row["intensity_g_per_kwh"],
        }
        if status == "ok":
            baseline = by_key.loc[(baseline_id, scenario)]
            for name, baseline_name, saved, *_ in LEVER_FIGURES:
                row[name] = float(lever_row[name])
                row[baseline_name] = float(baseline[name])
                row[saved] = row[baseline_name] - row[name]
            row["energy_saved_fraction"] = row["energy_saved_j"] / row["baseline_energy_j"]
            row["carbon_saved_fraction"] = row["carbon_saved_g"] / row["baseline_total_g"]
            found = fidelity.get(cell_id)
            if found is not None:
                row["psnr_db"], row["ssim"] = found.psnr_db, found.ssim
                row["fidelity_method"] = METHOD
        rows.append(row)
    return rows


def video_fidelity(runs: pd.DataFrame, stored: str | Path | None = None) -> dict[str, Any]:
    """lever cell_id -> fidelity of its video to its baseline's (both ok), read from the mp4s
    the runs table names (`video_path`).

    `stored`: a folder of each lever cell's fidelity with the size and mtime of both videos:
    a score whose videos are unchanged is reused, so a carbon-only change (which reruns the
    levers table) decodes no video again."""
    from vidcarbon.video import read_mp4

    ok = runs[runs.status == "ok"].set_index("cell_id").video_path
    found = {}
    for cell_id in runs.cell_id[runs.lever != BASELINE]:
        baseline_id = parse_cell_id(cell_id).baseline.cell_id
        if cell_id not in ok.index or baseline_id not in ok.index:
            continue
        states = [file_state(ok[cell_id]), file_state(ok[baseline_id])]
        path = Path(stored) / f"{cell_id}.json" if stored is not None else None
        if path is not None and path.is_file() and (kept := read_json(path))["states"] == states:
            found[cell_id] = Fidelity(**kept["fidelity"])
            continue
        found[cell_id] = fidelity(read_mp4(ok[cell_id]), read_mp4(ok[baseline_id]))
        log.info("%s: %s", cell_id, found[cell_id])
        if path is not None:
            write_json_atomic(path, {"states": states, "fidelity": asdict(found[cell_id])})
    return found


def write_levers(
    runs_path: str,
    carbon_path: str,
    kinds: dict[str, str],
    out_path: str,
    config_hash: str,
) -> None:
    """Rule levers: results/levers.parquet from the runs and carbon tables and the videos the
    runs table names."""
    runs = read_table("runs", runs_path).to_pandas()
    carbon = read_table("carbon", carbon_path).to_pandas()
    stored = Path(out_path).parent / "fidelity"
    rows = lever_rows(runs, carbon, video_fidelity(runs, stored), kinds)
    meta = provenance(config_hash, sorted(set(runs.hostname.dropna())), [])
    write_table("levers", rows, out_path, meta)
    log.info("wrote levers (%d rows) to %s", len(rows), out_path)


def best_levers(levers: pd.DataFrame, scenario: str, floor_ssim: float) -> pd.DataFrame:
    """Per model: the lever that saves most carbon (mean over its cells at `scenario`) among
    those whose every cell keeps SSIM >= `floor_ssim`; columns model, lever, carbon_saved_g
    (mean, min, max), carbon_saved_fraction (mean), ssim (min), cells."""
    ok = levers[(levers.status == "ok") & (levers.scenario == scenario)]
    summary = (
        ok.groupby(["model", "lever"])
        .agg(
            carbon_saved_g=("carbon_saved_g", "mean"),
            carbon_saved_min_g=("carbon_saved_g", "min"),
            carbon_saved_max_g=("carbon_saved_g", "max"),
            carbon_saved_fraction=("carbon_saved_fraction", "mean"),
            ssim=("ssim", "min"),
            cells=("cell_id", "count"),
        )
        .reset_index()
    )
    kept = summary[summary.ssim >= floor_ssim]
    best = kept.sort_values("carbon_saved_g", ascending=False).groupby("model").head(1)
    return best.sort_values("model").reset_index(drop=True)


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.Series:
    """True for each row no other row beats on both `x` and `y` (higher is better on both)."""
    front = []
    for _, p in points.iterrows():
        dominated = (
            (points[x] >= p[x]) & (points[y] >= p[y]) & ((points[x] > p[x]) | (points[y] > p[y]))
        ).any()
        front.append(not dominated and not math.isnan(p[x]) and not math.isnan(p[y]))
    return pd.Series(front, index=points.index)


def lever_findings(levers: pd.DataFrame, scenario: str, floor_ssim: float) -> list[dict]:
    """Findings rows (kind lever), one per model with lever rows: its best lever above the
    fidelity floor (`best_levers`), or why there is none."""
    rows = []
    best = best_levers(levers, scenario, floor_ssim).set_index("model")
    for model in sorted(set(levers.model)):
        row = {"kind": "lever", "model": model, "unit": "fraction", "quantity": "carbon_g"}
        if model not in best.index:
            rows.append(
                {
                    **row,
                    "name": f"best lever at SSIM >= {floor_ssim:g}: none",
                    "detail": f"no lever of {model} kept SSIM >= {floor_ssim:g} to its baseline "
                    f"on every cell, at scenario {scenario}",
                }
            )
            continue
        b = best.loc[model]
        rows.append(
            {
                **row,
                "name": f"best lever at SSIM >= {floor_ssim:g}: {b.lever}",
                "value": b.carbon_saved_fraction,
                "ci_low": _fraction(levers, model, b.lever, scenario, "min"),
                "ci_high": _fraction(levers, model, b.lever, scenario, "max"),
                "interval": "range over the lever's cells (prompts, shapes, seeds)",
                "n": int(b.cells),
                "detail": f"carbon saved: {b.carbon_saved_fraction:.1%} of the baseline's "
                f"(mean {b.carbon_saved_g:.3g} g at scenario {scenario}); lowest SSIM to the "
                f"baseline video {b.ssim:.3f}",
            }
        )
    return rows


def _fraction(levers: pd.DataFrame, model: str, lever: str, scenario: str, how: str) -> float:
    rows = levers[
        (levers.model == model)
        & (levers.lever == lever)
        & (levers.scenario == scenario)
        & (levers.status == "ok")
    ]
    return float(getattr(rows.carbon_saved_fraction, how)())


def levers_markdown(findings: pd.DataFrame) -> list[str]:
    """The lever findings as Markdown lines (none without lever rows)."""
    found = findings[findings.kind == "lever"]
    if found.empty:
        return []
    lines = [
        "## Levers: the best per model above the fidelity floor",
        "",
        "Carbon saved against the baseline cell (same model, prompt, shape, steps, seed) and "
        "the video's SSIM to the baseline's; on random weights fidelity, not quality, is the "
        "measure of what the lever costs (results/levers.parquet).",
        "",
        "| model | lever | carbon saved | range over cells | cells | how |",
        "|---|---|---|---|---|---|",
    ]
    for f in found.itertuples():
        saved = "" if pd.isna(f.value) else f"{f.value:.1%}"
        spread = "" if pd.isna(f.ci_low) else f"[{f.ci_low:.1%}, {f.ci_high:.1%}]"
        n = "" if pd.isna(f.n) else int(f.n)
        lines.append(f"| {f.model} | {f.name} | {saved} | {spread} | {n} | {f.detail} |")
    return [*lines, ""]


CHART_TITLE = "Carbon each lever saves, against its fidelity to the baseline video"


def levers_chart(levers: pd.DataFrame, scenario: str, floor_ssim: float):
    """Per model: carbon saved (mean over the lever's cells, at `scenario`) against SSIM to
    the baseline video (lowest over its cells), the Pareto front marked and joined."""
    import altair as alt

    from vidcarbon.analysis.render import no_data

    if levers.empty:
        return no_data(CHART_TITLE, "no levers configured (config levers:)")
    ok = levers[(levers.status == "ok") & (levers.scenario == scenario)]
    if ok.empty:
        return no_data(CHART_TITLE, f"no lever cell with its baseline ok at scenario {scenario}")
    points = (
        ok.groupby(["model", "lever", "lever_kinds"])
        .agg(
            carbon_saved_g=("carbon_saved_g", "mean"),
            carbon_saved_fraction=("carbon_saved_fraction", "mean"),
            ssim=("ssim", "min"),
            psnr_db=("psnr_db", "min"),
            cells=("cell_id", "count"),
        )
        .reset_index()
    )
    points["pareto"] = pd.concat(
        [pareto_front(p, "carbon_saved_fraction", "ssim") for _, p in points.groupby("model")]
    )
    points["front"] = points.pareto.map({True: "on the Pareto front", False: "dominated"})
    panels = [
        _model_panel(alt, model, rows, scenario, floor_ssim)
        for model, rows in points.groupby("model")
    ]
    return alt.hconcat(*panels).properties(
        title=alt.TitleParams(
            CHART_TITLE,
            subtitle=[
                f"each lever's cells against their baseline cells; red rule: the fidelity floor "
                f"(SSIM {floor_ssim:g}); dashed: the Pareto front",
                "on random weights fidelity to the baseline, not quality, is what a lever costs",
            ],
            anchor="start",
        )
    )


def _model_panel(alt, model: str, points: pd.DataFrame, scenario: str, floor_ssim: float):
    base = alt.Chart(points).encode(
        x=alt.X(
            "ssim:Q",
            title="SSIM to the baseline video (lowest over cells; 1 = identical)",
            scale=alt.Scale(zero=False),
        ),
        y=alt.Y(
            "carbon_saved_fraction:Q",
            title=f"carbon saved vs baseline ({scenario})",
            axis=alt.Axis(format="%"),
        ),
    )
    dots = base.mark_point(size=90, filled=True).encode(
        color=alt.Color("front:N", title=None, sort=["on the Pareto front", "dominated"]),
        tooltip=[
            "model",
            "lever",
            "lever_kinds",
            alt.Tooltip("carbon_saved_fraction:Q", format=".1%"),
            alt.Tooltip("carbon_saved_g:Q", format=".3g"),
            alt.Tooltip("ssim:Q", format=".3f"),
            alt.Tooltip("psnr_db:Q", format=".1f"),
            "cells",
        ],
    )
    labels = base.mark_text(dx=7, align="left", fontSize=11).encode(text="lever:N")
    front = (
        alt.Chart(points[points.pareto])
        .mark_line(strokeDash=[4, 3], color="gray")
        .encode(x="ssim:Q", y="carbon_saved_fraction:Q", order="ssim:Q")
    )
    floor = (
        alt.Chart(pd.DataFrame({"ssim": [floor_ssim]}))
        .mark_rule(color="firebrick")
        .encode(x="ssim:Q")
    )
    return alt.layer(front, floor, dots, labels).properties(title=model, width=360, height=260)
