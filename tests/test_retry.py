"""`vidcarbon retry`: exactly the records of a status go to their history and lose outputs."""

from __future__ import annotations

import json

import pytest

from vidcarbon.cli import main
from vidcarbon.records import history_path, load_history, write_json_atomic


def make(results, folder, stem, status, outputs=(), **extra):
    record = results / folder / f"{stem}.json"
    write_json_atomic(record, {"status": status, "run_id": f"{stem}-{status}", **extra})
    paths = [record]
    for out_folder, suffix in outputs:
        path = results / out_folder / f"{stem}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        paths.append(path)
    return paths


def test_retry_resets_exactly_the_records_of_a_status(tmp_path, capsys):
    results = tmp_path / "results"
    oom_cell = make(results, "cells", "m/p/144p_f8_s2_seed0", "oom", [("videos", ".mp4")])
    ok_cell = make(results, "cells", "m/p/144p_f8_s1_seed0", "ok", [("videos", ".mp4")])
    killed = make(results, "cells", "m/p/144p_f8_s3_seed0", "killed", [("videos", ".mp4")])
    oom_encode = make(results, "encode", "m/q", "oom", [("encode", ".pt")])
    image = make(results, "image_records", "i/p/240p_s8_seed0", "ok", [("images", ".png")])
    shard = make(results, "llm/requests", "llm/gsm8k/shard0", "ok", requests=[{"status": "oom"}])
    before = {p: p.stat().st_mtime_ns for p in ok_cell + killed + image}

    assert main(["retry", "--status", "oom", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "3 job(s) with status oom will run again" in out

    assert not any(p.exists() for p in oom_cell + oom_encode + shard)
    assert {p: p.stat().st_mtime_ns for p in before} == before  # untouched
    (archived,) = history_path(oom_cell[0]).read_text().splitlines()
    assert json.loads(archived)["run_id"] == "m/p/144p_f8_s2_seed0-oom"
    assert history_path(shard[0]).exists() and history_path(oom_encode[0]).exists()


def test_history_numbers_the_attempts(tmp_path):
    results = tmp_path / "results"
    for status in ("oom", "killed"):
        make(results, "cells", "m/p/c", status)
        main(["retry", "--status", status, "--results", str(results)])
    history = load_history(results / "cells" / "m/p/c.json")
    assert [(h["attempt"], h["status"]) for h in history] == [(1, "oom"), (2, "killed")]


def test_an_unknown_status_is_refused_with_the_allowed_ones(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["retry", "--status", "OOM", "--results", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--status OOM: not a status; allowed: ok, oom, failed, killed" in capsys.readouterr().err
