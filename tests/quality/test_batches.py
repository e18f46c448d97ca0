"""Scoring batches: a rerun scores only new or changed videos and reuses the other scores."""

import json
import os

from tests.quality import clips
from vidcarbon.grid import Cell
from vidcarbon.quality.batches import score_batch
from vidcarbon.quality.collect import collect_quality
from vidcarbon.tables import read_table
from vidcarbon.video import write_mp4

METRICS = ["temporal_flickering", "sharpness"]
OFF = {"enabled": False}


def write_cell(root, steps, status="ok"):
    cell = Cell("latte-tiny", "p0123456789", "144p", 8, steps, 0)
    video = root / "videos" / f"{cell.cell_id}.mp4"
    record = root / "cells" / f"{cell.cell_id}.json"
    video.parent.mkdir(parents=True, exist_ok=True)
    record.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(video, clips.smooth() if steps % 2 else clips.flickering(), fps=8)
    record.write_text(json.dumps({"status": status, "error": None}))
    return cell.cell_id, str(video), str(record)


def run(root, cells, metrics=METRICS):
    encode = root / "encode" / "p0123456789.json"
    encode.parent.mkdir(parents=True, exist_ok=True)
    if not encode.exists():
        encode.write_text(json.dumps({"prompt": "a fox"}))
    ids, videos, records = zip(*cells, strict=True)
    batch = root / "batch.json"
    counts = score_batch(
        list(ids), list(videos), list(records), [str(encode)], metrics, OFF, root / "q", batch
    )
    return counts, json.loads(batch.read_text())


def test_added_cells_are_scored_and_the_others_reused(tmp_path):
    cells = [write_cell(tmp_path, s) for s in (1, 2)]
    counts, first = run(tmp_path, cells)
    assert counts == {"scored": 2, "reused": 0}
    stored = {c[0]: (tmp_path / "q" / f"{c[0]}.json").stat().st_mtime_ns for c in cells}

    cells.append(write_cell(tmp_path, 3))
    counts, second = run(tmp_path, cells)
    assert counts == {"scored": 1, "reused": 2}
    assert second["records"][:2] == first["records"]  # the same rows, not scored again
    assert all((tmp_path / "q" / f"{i}.json").stat().st_mtime_ns == m for i, m in stored.items())

    out = tmp_path / "quality.parquet"
    assert collect_quality([str(tmp_path / "batch.json")], str(out), "hash") == 3 * 2
    table = read_table("quality", out).to_pandas()
    assert table.groupby("steps").size().to_dict() == {1: 2, 2: 2, 3: 2}


def test_a_changed_video_record_or_setting_is_scored_again(tmp_path):
    cells = [write_cell(tmp_path, s) for s in (1, 2)]
    run(tmp_path, cells)

    # cell 1 regenerated (another video: a later mtime), cell 2 now failed
    _, video, _ = cells[0]
    write_mp4(video, clips.flickering(), fps=8)
    os.utime(video, ns=(os.stat(video).st_mtime_ns + 10**9,) * 2)
    write_cell(tmp_path, 2, status="oom")
    counts, batch = run(tmp_path, cells)
    assert counts == {"scored": 2, "reused": 0}
    rows = {r["cell_id"]: r["rows"] for r in batch["records"]}
    assert rows[cells[0][0]][0]["value"] < 0.9  # the flickering video's score now
    assert {r["status"] for r in rows[cells[1][0]]} == {"failed"}

    # a changed metric list rescores every video; an unchanged one none
    assert run(tmp_path, cells)[0] == {"scored": 0, "reused": 2}
    assert run(tmp_path, cells, ["sharpness"])[0] == {"scored": 2, "reused": 0}


def test_a_torn_stored_score_is_scored_again(tmp_path):
    cells = [write_cell(tmp_path, 1)]
    run(tmp_path, cells)
    (tmp_path / "q" / f"{cells[0][0]}.json").write_text('{"cell_id": ')
    assert run(tmp_path, cells)[0] == {"scored": 1, "reused": 0}
