"""Failures are data: a crashing, OOM-ing or killed job still leaves its record."""

import json
import os
import signal

import pytest

from vidcarbon.process.isolation import _describe_exit, run_isolated
from vidcarbon.records import read_json
from vidcarbon.workloads.measured import classify_failure


def test_classify_failure():
    import torch

    assert classify_failure(torch.OutOfMemoryError("CUDA out of memory")) == "oom"
    assert classify_failure(MemoryError()) == "oom"
    assert classify_failure(RuntimeError("DefaultCPUAllocator: can't allocate memory")) == "oom"
    assert classify_failure(ValueError("bad shape")) == "failed"


def test_exit_descriptions():
    assert _describe_exit(-signal.SIGKILL)[0] == "killed"
    assert "out-of-memory killer" in _describe_exit(-signal.SIGKILL)[1]
    assert _describe_exit(3) == ("failed", "worker exited with code 3 without writing its record")


@pytest.mark.parametrize("warm", ["1", "0"])
def test_child_that_dies_leaves_a_record(tmp_path, monkeypatch, warm):
    monkeypatch.setenv("VIDCARBON_WARM_WORKER", warm)
    # An unknown job kind makes the child raise before writing; the parent records it.
    record_path = tmp_path / "cell.json"
    video = tmp_path / "cell.mp4"
    record = run_isolated(
        "generate",
        {"bad": "kwargs"},
        {"cell_id": "m/p/c"},
        record_path,
        [video],
        tmp_path / "log.txt",
    )
    assert record["status"] == "failed" and "exited with code" in record["error"]
    assert read_json(record_path)["cell_id"] == "m/p/c"
    assert video.exists() and video.stat().st_size == 0
    assert "Traceback" in (tmp_path / "log.txt").read_text()
    json.dumps(record)


def test_warm_worker_returns_the_childs_exit_code_and_log(tmp_path):
    from vidcarbon.process import warm_worker

    request = tmp_path / "request.json"
    request.write_text("{}")  # no "kind": the child raises and exits 1
    assert warm_worker.run(request, tmp_path / "log.txt") == 1
    assert "KeyError" in (tmp_path / "log.txt").read_text()


def test_folders_of_dead_jobs_are_removed_and_live_ones_kept(tmp_path):
    import subprocess
    import sys

    from vidcarbon.process.isolation import WORKSPACE_PREFIX, remove_stale_workspaces

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"{WORKSPACE_PREFIX}{dead.stdout.strip()}-k2j3h4g5"
    live = tmp_path / f"{WORKSPACE_PREFIX}{os.getpid()}-a1b2c3d4"
    unknown = tmp_path / f"{WORKSPACE_PREFIX}oldformat"  # no pid: cannot tell, kept
    for folder in (stale, live, unknown):
        (folder / "request.json").parent.mkdir()
        (folder / "request.json").write_text("{}")
    assert remove_stale_workspaces(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and unknown.exists()


def test_an_interrupted_job_removes_its_folder(tmp_path, monkeypatch):
    import tempfile

    from vidcarbon.process import warm_worker

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("VIDCARBON_WARM_WORKER", "1")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)

    def interrupted(request, log):
        raise KeyboardInterrupt  # Ctrl-C while the child runs

    monkeypatch.setattr(warm_worker, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_isolated("generate", {}, {}, tmp_path / "r.json", [], tmp_path / "log.txt")
    assert not list(tmp_path.glob("vidcarbon-job-*"))
