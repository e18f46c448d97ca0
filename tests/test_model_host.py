"""The model host of a SLURM job: the cells packed into one job share one process and load
their model once; a failure stays the failing cell's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidcarbon.grid import Cell
from vidcarbon.process import model_host
from vidcarbon.records import read_json
from vidcarbon.workloads.text import jobs as text_jobs
from vidcarbon.workloads.text.table import request_rows
from vidcarbon.workloads.video import jobs

MEASUREMENT = {"device": "cpu", "trace_interval_s": 0.05, "cpu": "auto", "threads": 1}

# latte-tiny that fails in the cell with 2 steps: its process dies (as under the OOM
# killer or a segfault) or CUDA runs out of memory.
FAILING_BACKEND = """
import os
import signal

import torch

from vidcarbon.backends.latte_tiny import LatteTiny


class CrashAtTwoSteps(LatteTiny):
    def denoise(self, embeddings, shape, steps, seed, on_step=None):
        if steps == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().denoise(embeddings, shape, steps, seed, on_step=on_step)


class OomAtTwoSteps(LatteTiny):
    def denoise(self, embeddings, shape, steps, seed, on_step=None):
        if steps == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return super().denoise(embeddings, shape, steps, seed, on_step=on_step)
"""


@pytest.fixture
def slurm_job(tmp_path, monkeypatch):
    """This test as the batch step of a packed SLURM job: a host started for a stand-in
    Snakemake process (killed at the end, which ends the host), the test backends importable."""
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (tmp_path / "failing_backends.py").write_text(FAILING_BACKEND)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv(model_host.ENV, model_host.start(owner.pid))
    yield owner
    owner.kill()
    owner.wait()


def encode(tmp_path: Path, backend: str) -> tuple[str, str]:
    embeddings, record = tmp_path / "enc.pt", tmp_path / "enc.json"
    jobs.encode_prompt(
        "m", "p", "a red fox", backend, {}, 1, MEASUREMENT, str(embeddings), str(record),
        str(tmp_path / "enc.log"),
    )  # fmt: skip
    return str(embeddings), str(record)


def generate(tmp_path: Path, backend: str, steps: int, encoded: tuple[str, str]) -> dict:
    cell = Cell("m", "p", "144p", 2, steps, 0, (256, 144))
    name = f"{backend.replace(':', '_')}-{steps}"
    return jobs.generate(
        cell, backend, {}, 8, 1, MEASUREMENT, *encoded,
        str(tmp_path / f"{name}.mp4"), str(tmp_path / f"{name}.json"),
        str(tmp_path / f"{name}.log"),
    )  # fmt: skip


def windows(record: dict) -> set[str]:
    return {w["name"] for w in record["windows"]}


def test_packed_cells_load_their_model_once_and_make_the_same_videos(tmp_path, slurm_job):
    encoded = encode(tmp_path, "latte-tiny")
    first, second, third = (generate(tmp_path, "latte-tiny", s, encoded) for s in (1, 2, 3))
    assert [r["status"] for r in (first, second, third)] == ["ok"] * 3
    # the first cell loads, inside its load window; the next two reuse its model
    assert "load" in windows(first)
    assert "load" not in windows(second) and "load" not in windows(third)
    assert first["model_loaded_by"] == first["run_id"]
    assert second["model_loaded_by"] == third["model_loaded_by"] == first["run_id"]
    # every cell still has its own warm-up and measured phases
    for record in (first, second, third):
        assert {"warmup", "denoise", "decode"} <= windows(record)
    assert len({r["slurm_job_id"] for r in (first, second, third)}) == 1

    # the same cell in a cold process of its own: the same video, byte for byte
    reused = (tmp_path / "latte-tiny-2.mp4").read_bytes()
    (tmp_path / "latte-tiny-2.mp4").unlink()
    (tmp_path / "latte-tiny-2.json").unlink()
    cold = subprocess.run(
        [sys.executable, "-c", COLD_CELL, str(tmp_path), *encoded],
        env={**_env_without_slurm(), "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
    )
    assert cold.returncode == 0, cold.stderr
    assert (tmp_path / "latte-tiny-2.mp4").read_bytes() == reused
    assert "load" in windows(read_json(tmp_path / "latte-tiny-2.json"))


COLD_CELL = """
import sys
from pathlib import Path
from tests.test_model_host import generate
generate(Path(sys.argv[1]), "latte-tiny", 2, (sys.argv[2], sys.argv[3]))
"""


def _env_without_slurm() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SLURM_JOB_ID", model_host.ENV)}


@pytest.mark.parametrize(
    ("backend", "status"),
    [("failing_backends:CrashAtTwoSteps", "killed"), ("failing_backends:OomAtTwoSteps", "oom")],
)
def test_a_failure_in_the_second_of_three_cells_is_that_cells_row(
    tmp_path, slurm_job, backend, status
):
    encoded = encode(tmp_path, backend)
    first, second, third = (generate(tmp_path, backend, s, encoded) for s in (1, 2, 3))
    assert (first["status"], second["status"], third["status"]) == ("ok", status, "ok")
    if status == "killed":
        assert "model host process ended during the job" in second["error"]
        # the dead host's socket is removed by the next cell, which ran in a cold process
        assert not Path(os.environ[model_host.ENV].rsplit(":", 1)[0]).exists()
    else:
        assert "CUDA out of memory" in second["error"]
    # the earlier cell's record and video are intact
    assert read_json(tmp_path / f"{backend.replace(':', '_')}-1.json")["status"] == "ok"
    assert (tmp_path / f"{backend.replace(':', '_')}-1.mp4").stat().st_size > 0
    # after a failure the next cell loads afresh (a new host, or a dropped model) and
    # holds its own load window
    assert "load" in windows(third) and third["model_loaded_by"] == third["run_id"]


def test_the_host_ends_with_its_snakemake_process(tmp_path, slurm_job):
    encode(tmp_path, "latte-tiny")
    path = Path(os.environ[model_host.ENV].rsplit(":", 1)[0])
    assert path.exists()
    slurm_job.kill()
    slurm_job.wait()
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists()


def batch_argv(*jobs: str, executor: str = "slurm-jobstep") -> list[str]:
    """The command line of Snakemake in a SLURM job (as the SLURM executor plugin writes it)."""
    return [
        "snakemake/__main__.py", "--snakefile", "Snakefile", "--target-jobs", *jobs,
        "--cores", "all", "--executor", executor, "--jobs", "1", "--mode", "remote",
    ]  # fmt: skip


PACKED = batch_argv("generate:model=m,steps=1", "generate:model=m,steps=2")


@pytest.mark.parametrize(
    ("argv", "env", "started"),
    [
        (PACKED, {"SLURM_JOB_ID": "7"}, True),  # the batch step of a packed job
        (PACKED, {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0"}, False),  # in a job step
        (PACKED, {}, False),  # not in a SLURM job
        (PACKED, {"SLURM_JOB_ID": "7", model_host.ENV: "0"}, False),  # turned off
        (batch_argv("generate:model=m,steps=1"), {"SLURM_JOB_ID": "7"}, False),  # one job
        (
            batch_argv("score_quality:model=m,steps=1", "score_quality:model=m,steps=2"),
            {"SLURM_JOB_ID": "7"},
            False,  # nothing measured
        ),
        # another executor's remote job, in a SLURM allocation
        (batch_argv(*PACKED[4:6], executor="kubernetes"), {"SLURM_JOB_ID": "7"}, False),
    ],
)
def test_a_host_is_started_only_in_the_batch_step_of_a_packed_measured_job(
    monkeypatch, argv, env, started
):
    # a copy: start_for_packed_job writes the environment, which must not leak into others
    monkeypatch.setattr(os, "environ", dict(os.environ))
    for name in ("SLURM_JOB_ID", "SLURM_STEP_ID", model_host.ENV):
        os.environ.pop(name, None)
    os.environ.update(env)
    monkeypatch.setattr(model_host, "start", lambda owner: f"/tmp/host.sock:{owner}")
    model_host.start_for_packed_job(argv)
    assert model_host.enabled() == started
    if started:
        assert os.environ[model_host.ENV] == f"/tmp/host.sock:{os.getpid()}"


def answer_shard(tmp_path: Path, shard: int) -> dict:
    """Shard `shard` of 2 of three gsm8k prompts, answered by llama-tiny (random weights)."""
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps([
        {"prompt_id": f"p{i}", "dataset": "gsm8k", "row_index": i, "text": f"Question: {i}?"}
        for i in range(3)
    ]))  # fmt: skip
    return text_jobs.llm_request(
        "llama-tiny", "gsm8k", shard, 2, {}, str(prompts), {"gsm8k": 6}, 64, 1, 2,
        MEASUREMENT, str(tmp_path / f"shard{shard}.json"), str(tmp_path / f"shard{shard}.log"),
    )  # fmt: skip


def answers(record: dict) -> list[tuple[str, int, str]]:
    return [(r["prompt_id"], r["output_tokens"], r["stop_reason"]) for r in record["requests"]]


def test_packed_llm_shards_load_their_model_once_and_answer_the_same(tmp_path, slurm_job):
    first, second = answer_shard(tmp_path, 0), answer_shard(tmp_path, 1)
    assert (first["status"], second["status"]) == ("ok", "ok")
    assert "load" in windows(first) and "load" not in windows(second)
    assert first["model_loaded_by"] == second["model_loaded_by"] == first["run_id"]
    assert {"warmup", "prefill/0", "decode/0"} <= windows(second)
    rows = request_rows(first, {}) + request_rows(second, {})
    assert [r["model_reused"] for r in rows] == [False, False, True]
    assert [r["load_duration_s"] is None for r in rows] == [False, False, True]

    # the second shard alone, in a process of its own: the same answers, and its own load
    cold = subprocess.run(
        [sys.executable, "-c", COLD_SHARD, str(tmp_path)],
        env={**_env_without_slurm(), "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
    )
    assert cold.returncode == 0, cold.stderr
    alone = read_json(tmp_path / "shard1.json")
    assert answers(alone) == answers(second)
    assert "load" in windows(alone) and alone["model_loaded_by"] == alone["run_id"]


COLD_SHARD = """
import sys
from pathlib import Path
from tests.test_model_host import answer_shard
answer_shard(Path(sys.argv[1]), 1)
"""
