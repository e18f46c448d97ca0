"""Quality scoring in batches: one job scores the videos of one model and shape.

A job per video made half of a study's jobs, and Snakemake plans every job again on every
command; a batch needs one. Each video's score is kept in its own file
(`results/quality/<cell>.json`, as before) with the size and modification time of the video
and of the records it was scored from, and the scoring settings: a batch rerun (a cell added
to its shape, say) reuses every stored score whose inputs are unchanged and scores only the
new or changed videos.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vidcarbon.grid import parse_cell_id
from vidcarbon.quality.scoring import planned_metrics, score_cell
from vidcarbon.records import file_state, read_json, write_json_atomic

log = logging.getLogger(__name__)

BATCH_STEM = "{model}/{resolution}_f{frames}"


def score_inputs(
    video: str, cell_record: str, encode_record: str, metrics: list[str], vbench: dict
) -> dict[str, Any]:
    """What a video's score depends on, as stored beside it (JSON-equal when unchanged)."""
    return {
        "video": file_state(video),
        "cell_record": file_state(cell_record),
        "encode_record": file_state(encode_record),
        "metrics": planned_metrics(metrics, vbench),
        "vbench": vbench,
    }


def score_batch(
    cell_ids: list[str],
    videos: list[str],
    cell_records: list[str],
    encode_records: list[str],
    metrics: list[str],
    vbench: dict[str, Any],
    scores_dir: str | Path,
    batch_path: str | Path,
) -> dict[str, int]:
    """Score the cells `cell_ids` (videos and cell records in the same order; the encode
    records of their prompts, in any order), reusing unchanged stored scores; write the
    batch's record (every cell's quality record) to `batch_path`. {"scored": n, "reused": m}.
    """
    if not (len(cell_ids) == len(videos) == len(cell_records)):
        raise ValueError("score_batch: cell_ids, videos and cell_records differ in length")
    encode_by_prompt = {Path(p).stem: p for p in encode_records}
    counts = {"scored": 0, "reused": 0}
    records = []
    for cell_id, video, cell_record in zip(cell_ids, videos, cell_records, strict=True):
        cell = parse_cell_id(cell_id)
        encode_record = encode_by_prompt[cell.prompt]
        inputs = score_inputs(video, cell_record, encode_record, metrics, vbench)
        score_path = Path(scores_dir) / f"{cell_id}.json"
        stored = _read_stored(score_path)
        if stored is not None and stored.get("inputs") == inputs:
            records.append(stored)
            counts["reused"] += 1
            continue
        record = score_cell(
            cell, video, cell_record, encode_record, metrics, vbench, str(score_path), inputs
        )
        records.append(record)
        counts["scored"] += 1
    log.info("%d videos scored, %d stored scores reused", counts["scored"], counts["reused"])
    write_json_atomic(batch_path, {**counts, "records": records})
    return counts


def _read_stored(path: Path) -> dict[str, Any] | None:
    try:
        return read_json(path)
    except FileNotFoundError:
        return None
    except ValueError:  # a torn or hand-edited file: score again
        log.warning("%s: not JSON, the video is scored again", path)
        return None
