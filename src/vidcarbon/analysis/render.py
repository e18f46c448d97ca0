"""Saving charts: every chart is written as HTML and PNG (vl-convert, no browser)."""

from __future__ import annotations

import os
from pathlib import Path

import altair as alt


def no_data(title: str, reason: str) -> alt.Chart:
    """A chart that says why there is nothing to plot, instead of failing."""
    return (
        alt.Chart(alt.Data(values=[{"text": f"no data: {reason}"}]))
        .mark_text(size=14)
        .encode(text="text:N")
        .properties(title=title, width=420, height=120)
    )


def save(chart: alt.TopLevelMixin, stem: str | Path) -> tuple[Path, Path]:
    """Write `stem`.html and `stem`.png atomically; returns both paths. The HTML carries the
    Vega libraries inline (about 0.9 MB, from vl-convert), so it draws without network, as on
    a cluster's compute or login nodes, and inside report.html."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, kwargs in ((".html", {"inline": True}), (".png", {"scale_factor": 2})):
        final = stem.with_suffix(suffix)
        tmp = final.with_name(f".{final.stem}.{os.getpid()}.tmp{suffix}")
        chart.save(str(tmp), **kwargs)
        os.replace(tmp, final)
        paths.append(final)
    return paths[0], paths[1]
