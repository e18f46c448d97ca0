"""Fitted scaling laws and the paper's headline claims, checked against the measured data.

Each finding is a row: a fitted exponent (kind "fit") or a claim (kind "claim") with the
measured figure, the paper's figure and a verdict: holds | does not hold | not measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from vidcarbon.fits import fit_linear, fit_power_law

HOLDS, FAILS, NOT_MEASURED = "holds", "does not hold", "not measured"


@dataclass(frozen=True)
class Finding:
    kind: str  # fit | claim
    model: str
    name: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    r2: float | None = None
    n: int | None = None
    paper_value: str | None = None
    verdict: str | None = None
    detail: str = ""


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[(runs.status == "ok") & runs.energy_j.notna()]


def scaling_fits(runs: pd.DataFrame) -> list[Finding]:
    """Per model: energy per video ~ steps^a pixels^b frames^c, for the denoising phase and
    for the whole video; a variable with a single value in the grid is left out."""
    findings = []
    for model, cells in _ok(runs).groupby("model"):
        variables = {
            "steps": cells.steps,
            "pixels": cells.height * cells.width,
            "frames": cells.frames,
        }
        variables = {k: v for k, v in variables.items() if v.nunique() > 1}
        for target in ("denoise_energy_j", "energy_j"):
            if not variables or len(cells) <= len(variables) + 1:
                continue
            fit = fit_power_law(cells[target], **variables)
            for c in fit.coefficients[1:]:
                findings.append(
                    Finding(
                        "fit",
                        model,
                        f"{target} exponent of {c.name}",
                        c.value,
                        c.ci_low,
                        c.ci_high,
                        fit.r2,
                        fit.n,
                    )
                )
    return findings


def _at(cells: pd.DataFrame, resolution: str, frames: int) -> pd.DataFrame:
    return cells[(cells.resolution == resolution) & (cells.frames == frames)]


def run_claims(runs: pd.DataFrame, fps: int = 8) -> list[Finding]:
    """The paper's claims that the runs table alone can check, per model."""
    findings = []
    for model, cells in _ok(runs).groupby("model"):
        frames_2s = 2 * fps
        shape = _at(cells, "240p", frames_2s)
        at40 = shape[shape.steps == 40]
        if at40.empty:
            findings.append(
                Finding(
                    "claim",
                    model,
                    "denoising share at 40 steps, 2 s 240p",
                    paper_value="> 97 %",
                    verdict=NOT_MEASURED,
                    detail="the grid has no 240p, 2 s, 40-step cell",
                )
            )
        else:
            share = float((at40.denoise_energy_j / at40.energy_j).mean())
            findings.append(
                Finding(
                    "claim",
                    model,
                    "denoising share at 40 steps, 2 s 240p",
                    share,
                    paper_value="> 97 %",
                    verdict=HOLDS if share > 0.97 else FAILS,
                    n=len(at40),
                )
            )
        if shape.empty:
            findings.append(
                Finding(
                    "claim",
                    model,
                    "text encoding / one denoising step",
                    paper_value="about 0.6",
                    verdict=NOT_MEASURED,
                    detail="the grid has no 240p, 2 s cell",
                )
            )
        else:
            ratio = float((shape.encode_energy_j / (shape.denoise_energy_j / shape.steps)).mean())
            findings.append(
                Finding(
                    "claim",
                    model,
                    "text encoding / one denoising step",
                    ratio,
                    paper_value="about 0.6",
                    verdict=HOLDS if 0.3 <= ratio <= 1.2 else FAILS,
                    n=len(shape),
                    detail="held if within 0.3..1.2",
                )
            )
        findings += _steps_claim(model, cells)
        findings += _resolution_claim(model, cells)
        findings += _duration_claim(model, cells)
    return findings


def _steps_claim(model: str, cells: pd.DataFrame) -> list[Finding]:
    name = "energy linear in steps (R² of a line, per shape)"
    groups = [g for _, g in cells.groupby(["resolution", "frames"]) if g.steps.nunique() >= 3]
    if not groups:
        return [
            Finding(
                "claim",
                model,
                name,
                paper_value="linear",
                verdict=NOT_MEASURED,
                detail="needs 3 or more steps values at one shape",
            )
        ]
    r2 = min(fit_linear(g.energy_j, steps=g.steps).r2 for g in groups)
    return [
        Finding(
            "claim",
            model,
            name,
            r2,
            paper_value="linear",
            verdict=HOLDS if r2 >= 0.95 else FAILS,
            n=len(groups),
            detail="lowest R² over shapes; held if >= 0.95",
        )
    ]


def _power_law_over_varying(cells: pd.DataFrame):
    """energy ~ product of the grid variables that vary in `cells`."""
    variables = {
        "steps": cells.steps,
        "pixels": cells.height * cells.width,
        "frames": cells.frames,
    }
    return fit_power_law(cells.energy_j, **{k: v for k, v in variables.items() if v.nunique() > 1})


def _exponent_claim(
    model: str,
    cells: pd.DataFrame,
    name: str,
    variable: str,
    grid_key: str,
    grid_word: str,
    paper: str,
    holds,
    detail,
) -> list[Finding]:
    """A claim about the fitted exponent of `variable`: `holds(coefficient)` decides, and
    `detail(coefficient)` says how. Not measured while `grid_key` has fewer than 2 values."""
    if cells[grid_key].nunique() < 2:
        return [
            Finding(
                "claim",
                model,
                name,
                paper_value=paper,
                verdict=NOT_MEASURED,
                detail=f"needs 2 or more values of {grid_key}",
            )
        ]
    fit = _power_law_over_varying(cells)
    c = fit[variable]
    return [
        Finding(
            "claim",
            model,
            name,
            c.value,
            c.ci_low,
            c.ci_high,
            fit.r2,
            fit.n,
            paper_value=paper,
            verdict=HOLDS if holds(c) else FAILS,
            detail=detail(c),
        )
    ]


def _resolution_claim(model: str, cells: pd.DataFrame) -> list[Finding]:
    return _exponent_claim(
        model,
        cells,
        "energy near-quadratic in resolution: exponent of pixels",
        "pixels",
        "resolution",
        "resolutions",
        "about 1 in pixels (quadratic in side length); 720p ≈ 10x 240p",
        holds=lambda c: c.ci_high >= 0.9,
        detail=lambda c: (
            f"implied 720p/240p ratio {(720 * 1280 / (240 * 426)) ** c.value:.1f}x; "
            "held if CI reaches 0.9"
        ),
    )


def _duration_claim(model: str, cells: pd.DataFrame) -> list[Finding]:
    return _exponent_claim(
        model,
        cells,
        "energy linear in duration: exponent of frames",
        "frames",
        "frames",
        "durations",
        "linear (exponent 1)",
        holds=lambda c: c.ci_low <= 1.1 and c.ci_high >= 0.9,
        detail=lambda c: "held if the 95 % CI reaches into 0.9..1.1",
    )


def carbon_claims(carbon: pd.DataFrame) -> list[Finding]:
    """Embodied carbon is small against operational: the paper's wind and gas figures."""
    findings = []
    ok = carbon[(carbon.status == "ok") & carbon.total_g.notna()]
    for model in sorted(set(carbon.model)):
        cells = ok[ok.model == model]
        for source, paper, test in (
            ("wind", "operational 5.4x embodied (84 % of the total)", lambda r: r > 1),
            ("gas", "embodied 0.4 % of the total", lambda r: r > 10),
        ):
            rows = cells[cells.scenario == source]
            name = f"embodied << operational under {source}: operational / embodied"
            if rows.empty:
                findings.append(
                    Finding(
                        "claim",
                        model,
                        name,
                        paper_value=paper,
                        verdict=NOT_MEASURED,
                        detail=f"no '{source}' scenario in carbon.parquet",
                    )
                )
                continue
            ratio = float((rows.operational_g / rows.embodied_g).median())
            device = rows.embodied_device.iloc[0]
            findings.append(
                Finding(
                    "claim",
                    model,
                    name,
                    ratio,
                    paper_value=paper,
                    verdict=HOLDS if test(ratio) else FAILS,
                    n=len(rows),
                    detail=f"median over cells; embodied of {device} "
                    f"({rows.embodied_scope.iloc[0]} scope)",
                )
            )
    return findings


def comparison_claims(comparison: pd.DataFrame, fps: int = 8) -> list[Finding]:
    """Video costs much more than text, per request and per unit, at the paper's 100 g/kWh and
    2 s 240p (the most steps measured there)."""
    name_request = "video >> text per request: 2 s 240p video / text response"
    name_unit = "video >> text per unit: one frame / one token"
    rows = (
        comparison[comparison.scenario == comparison.scenario.iloc[0]]
        if len(comparison)
        else comparison
    )
    video = rows[(rows.modality == "video") & rows.group.str.startswith(f"240p_f{2 * fps}_")]
    if video.empty:
        return [
            Finding(
                "claim",
                "video vs text",
                name_request,
                paper_value="about 6x",
                verdict=NOT_MEASURED,
                detail="no 2 s 240p video or no text baseline",
            ),
            Finding(
                "claim",
                "video vs text",
                name_unit,
                paper_value="about 78x",
                verdict=NOT_MEASURED,
                detail="no 2 s 240p video or no text baseline",
            ),
        ]
    steps = video.group.str.extract(r"_s(\d+)$")[0].astype(int)
    best = video.loc[steps.idxmax()]
    detail = f"{best.model} {best.group} vs {best.reference_text} at {best.scenario}"
    return [
        Finding(
            "claim",
            "video vs text",
            name_request,
            float(best.request_ratio_vs_text),
            paper_value="about 6x",
            verdict=HOLDS if best.request_ratio_vs_text > 1 else FAILS,
            detail=detail + "; held if > 1",
        ),
        Finding(
            "claim",
            "video vs text",
            name_unit,
            float(best.unit_ratio_vs_text),
            paper_value="about 78x",
            verdict=HOLDS if best.unit_ratio_vs_text > 1 else FAILS,
            detail=detail + "; held if > 1",
        ),
    ]


def findings_rows(
    runs: pd.DataFrame,
    fps: int = 8,
    carbon: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
) -> list[dict]:
    """All findings as rows of the `findings` table; a missing table makes its claims
    'not measured'."""
    found = scaling_fits(runs) + run_claims(runs, fps)
    if carbon is not None:
        found += carbon_claims(carbon)
    found += comparison_claims(
        comparison
        if comparison is not None
        else pd.DataFrame(columns=["scenario", "modality", "group"]),
        fps,
    )
    return [asdict(f) for f in found]


def _cell(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def summary_markdown(findings: pd.DataFrame) -> str:
    """The findings as two Markdown tables: scaling laws, then the paper's claims."""
    lines = ["# Findings", "", "## Scaling laws (energy per video, log-log least squares)", ""]
    lines += ["| model | law | exponent | 95 % CI | R² | n |", "|---|---|---|---|---|---|"]
    for f in findings[findings.kind == "fit"].itertuples():
        ci = f"{_cell(f.ci_low)} .. {_cell(f.ci_high)}"
        n = "" if pd.isna(f.n) else int(f.n)
        lines.append(f"| {f.model} | {f.name} | {_cell(f.value)} | {ci} | {_cell(f.r2)} | {n} |")
    lines += ["", "## The paper's claims against the measured data", ""]
    lines += ["| model | claim | measured | paper | verdict | how |", "|---|---|---|---|---|---|"]
    for f in findings[findings.kind == "claim"].itertuples():
        lines.append(
            f"| {f.model} | {f.name} | {_cell(f.value)} | {f.paper_value} | **{f.verdict}** "
            f"| {f.detail} |"
        )
    return "\n".join(lines) + "\n"
