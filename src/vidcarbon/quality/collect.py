"""Collect per-cell quality records into results/quality.parquet."""

from __future__ import annotations

from vidcarbon.records import read_json
from vidcarbon.tables import provenance, write_table


def collect_quality(records: list[str], quality_path: str, config_hash: str) -> int:
    """Write the quality table (one row per cell and metric); returns the number of rows."""
    rows, hostnames = [], []
    for path in records:
        record = read_json(path)
        hostnames.append(record.get("hostname") or "unknown")
        rows += [{**row, "video_path": record.get("video_path")} for row in record["rows"]]
    meta = provenance(config_hash, hostnames=hostnames, devices=[])
    write_table("quality", rows, quality_path, meta)
    return len(rows)
