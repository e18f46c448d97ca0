"""The few lines `make run` ends with: what ran, what failed and how to retry it, where the
results are, and the headline findings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

HEADLINES = 3


def _statuses(path: Path) -> dict[str, int]:
    statuses = pq.read_table(path, columns=["status"]).column("status").to_pylist()
    return {s: statuses.count(s) for s in sorted(set(statuses), key=lambda s: (s != "ok", s))}


def _counts(statuses: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in statuses.items()) or "none"


def retry_command(statuses: list[str]) -> str:
    """Reruns exactly the jobs that ended with these statuses (`vidcarbon retry` keeps each
    earlier attempt in the record's history), then the run."""
    flags = " ".join(f"--status {s}" for s in sorted(set(statuses)))
    return f"vidcarbon retry {flags} && make run"


def summarise(results: str | Path = "results") -> str:
    """The summary of the results in `results` (a run's output folder)."""
    results = Path(results)
    runs_path = results / "runs.parquet"
    if not runs_path.is_file():
        return (
            f"vidcarbon: no {runs_path} yet: the run stopped before collecting its cells "
            "(see the error above); `make run` again resumes it"
        )
    runs = pq.read_table(runs_path, columns=["cell_id", "status", "error"]).to_pandas()
    lines = [f"vidcarbon: video cells {_counts(_statuses(runs_path))}"]
    for name, what in (("llm", "text requests"), ("images", "images")):
        if (results / f"{name}.parquet").is_file():
            lines[0] += f"; {what} {_counts(_statuses(results / f'{name}.parquet'))}"
    failed = runs[runs.status != "ok"]
    for row in failed.head(HEADLINES).itertuples():
        lines.append(f"  {row.status}: {row.cell_id}: {row.error}")
    if len(failed):
        lines.append(f"  retry the {len(failed)} failed: {retry_command(list(failed.status))}")
    lines.append("  " + _where(results, runs_path))
    findings = results / "findings.parquet"
    if findings.is_file():
        lines.append(f"  findings ({results / 'findings.md'}):")
        lines += [f"    {line}" for line in headline_findings(findings)]
    return "\n".join(lines)


def _where(results: Path, runs_path: Path) -> str:
    """Where the report, tables and charts are: only those that exist (a run that stopped
    early has no report yet)."""
    report = results / "report.html"
    parts = [
        f"report {report}"
        if report.is_file()
        else f"no report yet (`snakemake --report {report}`; make run makes it)"
    ]
    parts.append(f"tables {results}/*.parquet (`vidcarbon tables {runs_path}` describes one)")
    charts = results / "charts"
    if charts.is_dir() and any(charts.glob("*.png")):
        parts.append(f"charts {charts}/")
    return "; ".join(parts)


def _number(value: float, unit: str | None) -> str:
    """A fraction as a percentage, a ratio with an x, anything else as it is."""
    if unit == "fraction":
        return f"{100 * value:.3g} %"
    if unit == "ratio":
        return f"{value:.3g}x"
    return f"{value:.3g}"


def headline_findings(path: str | Path, limit: int = HEADLINES) -> list[str]:
    """`limit` claims of the paper that the run could check, with their verdicts: those with
    an interval first (a claim on one cell cannot hold or fail), each figure with its unit
    and, where there is one, its interval."""
    rows = pq.read_table(path).to_pandas()
    claims = rows[(rows.kind == "claim") & (rows.verdict != "not measured")]
    if "ci_low" in claims:  # the informative ones first: a figure with an interval
        claims = claims.assign(_open=claims.ci_low.isna()).sort_values("_open", kind="stable")
    claims = claims.head(limit)
    lines = []
    for row in claims.itertuples():
        unit = getattr(row, "unit", None)
        measured = ""
        if not pd.isna(row.value):
            named = unit not in (None, "fraction", "ratio")
            measured = f" {unit} " if named else " "
            measured += _number(row.value, unit)
            low, high = getattr(row, "ci_low", None), getattr(row, "ci_high", None)
            if low is not None and not pd.isna(low):
                measured += f" [95 % CI {_number(low, unit)} .. {_number(high, unit)}]"
            else:
                measured += " [no interval]"
        lines.append(f"{row.name}:{measured} ({row.model}; paper {row.paper_value}): {row.verdict}")
    return lines or ["no paper claim could be checked on this grid"]
