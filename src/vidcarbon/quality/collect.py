"""Collect the scoring batches' quality records into results/quality.parquet."""

from __future__ import annotations

from vidcarbon.records import read_json
from vidcarbon.tables import provenance, write_table


def collect_quality(batches: list[str], quality_path: str, config_hash: str) -> int:
    """Write the quality table (one row per cell and metric) from the records of the batch
    files `batches` (`quality.batches.score_batch`); returns the number of rows."""
    rows, hostnames = [], []
    for record in (r for path in batches for r in read_json(path)["records"]):
        hostnames.append(record.get("hostname") or "unknown")
        rows += [{**row, "video_path": record.get("video_path")} for row in record["rows"]]
    meta = provenance(config_hash, hostnames=hostnames, devices=[])
    write_table("quality", rows, quality_path, meta)
    return len(rows)
