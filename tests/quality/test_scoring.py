"""Scoring one cell: bad inputs give failed rows with the reason, good videos are still scored."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.quality import clips
from vidcarbon.grid import Cell
from vidcarbon.quality.collect import collect_quality
from vidcarbon.quality.scoring import score_cell, score_video, vbench_job_params
from vidcarbon.tables import read_table
from vidcarbon.video import write_mp4

METRICS = ["temporal_flickering", "sharpness", "noise"]
OFF = {"enabled": False}


def make_cell(tmp_path, name, video: bytes | np.ndarray | None, status="ok", prompt="a fox"):
    """A grid cell's video, generation record and encode record, as `generate` leaves them."""
    cell = Cell("latte-tiny", "p0123456789", "144p", 8, 2, int(name.split("-")[0]))
    video_path = tmp_path / f"{name}.mp4"
    if isinstance(video, np.ndarray):
        write_mp4(video_path, video, fps=8)
    elif video is not None:
        video_path.write_bytes(video)
    cell_record = tmp_path / f"{name}.cell.json"
    error = None if status == "ok" else "CUDA out of memory"
    cell_record.write_text(json.dumps({"status": status, "error": error}))
    encode_record = tmp_path / f"{name}.encode.json"
    encode_record.write_text(json.dumps({} if prompt is None else {"prompt": prompt}))
    return cell, video_path, cell_record, encode_record


def score(tmp_path, name, video, vbench=OFF, **kw):
    cell, video_path, cell_record, encode_record = make_cell(tmp_path, name, video, **kw)
    record_path = tmp_path / "quality" / f"{name}.json"
    score_cell(cell, str(video_path), cell_record, encode_record, METRICS, vbench, record_path)
    return record_path, {r["metric"]: r for r in json.loads(record_path.read_text())["rows"]}


def test_bad_videos_fail_with_reason_and_the_good_one_is_scored(tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "0-good": clips.smooth(),
        "1-empty": b"",
        "2-corrupt": b"\x00\x00\x00\x18ftypmp42" + rng.bytes(4000),
        "3-one-frame": clips.smooth(frames=1),
        "4-missing": None,
    }
    records, rows = [], {}
    for name, video in cases.items():
        path, rows[name] = score(tmp_path, name, video)
        records.append(str(path))

    assert {r["status"] for r in rows["0-good"].values()} == {"ok"}
    assert 0.9 < rows["0-good"]["temporal_flickering"]["value"] <= 1.0
    for name, reason in (
        ("1-empty", "is empty (0 bytes)"),
        ("2-corrupt", "cannot decode video"),
        ("4-missing", "does not exist"),
    ):
        assert [r["status"] for r in rows[name].values()] == ["failed"] * 3, name
        assert all(reason in r["error"] and r["value"] is None for r in rows[name].values())
    one = rows["3-one-frame"]
    assert one["temporal_flickering"]["status"] == "failed"
    assert "has 1 frame(s); it needs at least 2" in one["temporal_flickering"]["error"]
    assert one["sharpness"]["status"] == "ok" and one["sharpness"]["value"] > 0

    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"records": [json.loads(Path(p).read_text()) for p in records]}))
    out = tmp_path / "quality.parquet"
    assert collect_quality([str(batch)], str(out), "hash") == 5 * 3
    table = read_table("quality", out).to_pandas()
    assert len(table) == 15 and table.pretrained.isna().all()
    assert set(table.metric_version) == {"vidcarbon-1"}
    assert table.groupby("status").size().to_dict() == {"ok": 5, "failed": 10}
    assert (table.cell_id.str.startswith("latte-tiny/p0123456789/144p_f8_s2_seed")).all()


def test_failed_generation_scores_nothing(tmp_path):
    # generate leaves a 0-byte placeholder mp4 for a failed cell; the reason is the generation's
    _, rows = score(tmp_path, "0-oom", b"", status="oom")
    assert all(r["status"] == "failed" for r in rows.values())
    assert "generation ended with status 'oom': CUDA out of memory" in rows["sharpness"]["error"]


def test_missing_prompt_and_missing_vbench_fail_only_the_vbench_rows(tmp_path):
    vbench = {
        "enabled": True,
        "python": str(tmp_path / "no-such-venv" / "python"),
        "cache_dir": str(tmp_path / "cache"),
        "dimensions": ["imaging_quality", "overall_consistency"],
        "device": "cpu",
    }
    _, rows = score(tmp_path, "0-noprompt", clips.smooth(), vbench=vbench, prompt=None)
    assert list(rows) == METRICS + ["imaging_quality", "overall_consistency"]
    assert all(rows[m]["status"] == "ok" for m in METRICS)
    assert rows["overall_consistency"]["error"] == "no prompt for this video"
    assert rows["imaging_quality"]["status"] == "failed"
    assert "quality.vbench.python" in rows["imaging_quality"]["error"]
    assert "make quality-env" in rows["imaging_quality"]["error"]


@pytest.mark.parametrize("prompt", ["", None])
def test_empty_prompt_counts_as_missing(tmp_path, prompt):
    vbench = {"enabled": True, "python": "/nonexistent", "cache_dir": "x"}
    vbench["dimensions"] = ["overall_consistency"]
    rows = score_video(tmp_path / "absent.mp4", prompt, [], vbench)
    assert rows[0]["status"] == "failed" and "does not exist" in rows[0]["error"]
    write_mp4(tmp_path / "v.mp4", clips.smooth(), fps=8)
    rows = score_video(tmp_path / "v.mp4", prompt, [], vbench)
    assert rows[0]["error"] == "no prompt for this video"


def test_disabled_vbench_settings_do_not_reach_jobs():
    settings = {"enabled": False, "python": "a", "cache_dir": "b", "dimensions": ["x"]}
    assert vbench_job_params(settings, "cuda") == {"enabled": False}
    on = vbench_job_params(dict(settings, enabled=True), "cuda")
    assert on == dict(settings, enabled=True, device="cuda")


def test_a_crashing_metric_gives_a_row_not_a_dead_job(tmp_path, monkeypatch):
    from vidcarbon.quality import metrics

    def explode(frames):
        raise MemoryError("cannot allocate 40 GiB")

    spec = metrics.WEIGHT_FREE["noise"]
    monkeypatch.setitem(metrics.WEIGHT_FREE, "noise", type(spec)("noise", explode, spec.unit))
    write_mp4(tmp_path / "v.mp4", clips.smooth(), fps=8)
    rows = {r["metric"]: r for r in score_video(tmp_path / "v.mp4", "a fox", METRICS, OFF)}
    assert rows["noise"]["status"] == "failed"
    assert rows["noise"]["error"] == "MemoryError: cannot allocate 40 GiB"
    assert rows["sharpness"]["status"] == "ok"
