"""`vidcarbon retry --status oom`: make the next run redo exactly the jobs that ended so.

A failed job writes its record (and empty placeholders for its other outputs) and exits 0,
so Snakemake considers it done. Retrying one moves its record to the history beside it
(`<record>.history.jsonl`, `vidcarbon.records`) and deletes its outputs; the next
`snakemake` (or `make run`) then runs exactly those jobs again, and whatever reads them.
Jobs that ended with another status, ok ones included, are untouched.
"""

from __future__ import annotations

from pathlib import Path

from vidcarbon.records import STATUSES, archive, read_json
from vidcarbon.workloads import image, text, video

# every workload's records, as its spec declares them
KINDS = (*video.spec.RECORDS, *image.spec.RECORDS, *text.spec.RECORDS)


def _statuses(record: dict) -> set[str]:
    """A record's status, and for an LLM shard each request's (a batch can fail alone)."""
    return {record.get("status"), *(r.get("status") for r in record.get("requests", []))}


def retry(statuses: list[str], results: str | Path = "results") -> list[tuple[str, Path]]:
    """Archive and remove every record (and its outputs) whose status is in `statuses`;
    the (kind, record path) of each, for the report."""
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise ValueError(
            f"--status {', '.join(unknown)}: not a status; allowed: {', '.join(STATUSES)}"
        )
    results = Path(results)
    reset = []
    for kind in KINDS:
        folder = results / kind.records
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
            if path.name.startswith("."):  # a temporary file being written
                continue
            record = read_json(path)
            if not _statuses(record) & set(statuses):
                continue
            archive(path, record)
            stem = path.relative_to(folder).with_suffix("")
            for out_folder, suffix in kind.outputs:
                (results / out_folder / stem).with_suffix(suffix).unlink(missing_ok=True)
            path.unlink()
            reset.append((kind.name, path))
    return reset
