"""Real Snakemake runs in a temporary directory against the repository's workflow."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO, SNAKEFILE, SNAKEMAKE, small_config
from tests.test_prompts import NASTY
from vidcarbon.analysis.chart_specs import CHART_SPECS
from vidcarbon.prompts import read_prompts
from vidcarbon.summary import summarise
from vidcarbon.tables import read_table
from vidcarbon.video import read_mp4

pytestmark = pytest.mark.e2e


# the charts of a config without a `parallel:` section: all but the parallel cells' own
CHARTS = [name for name in CHART_SPECS if name != "parallel"]
CHART_JOBS = [f"chart_{name}" for name in CHARTS]
# the charts of the measured runs: all but video-vs-text, which reads only the baselines
RUN_CHART_JOBS = [job for job in CHART_JOBS if job != "chart_rq2_video_vs_text"]


def records(directory: Path) -> list[Path]:
    """Finished job records (hidden names are temporary files)."""
    return [p for p in directory.rglob("*.json") if not p.name.startswith(".")]


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """The 'Job stats' table of `snakemake -n`."""
    stats = dry_run_stdout.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


def test_default_config_lists_exactly_the_grid(workdir):
    shutil.copytree(REPO / "config", workdir.path / "config", dirs_exist_ok=True)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    prompts = read_prompts(REPO / config["prompts"])
    g = config["grid"]
    cells = len(prompts) * len(g["steps"]) * len(g["resolutions"]) * len(g["durations_s"])
    lever_grid = {**g, **config["levers"]["grid"]}
    lever_cells = len(config["levers"]["variants"]) * len(prompts)
    lever_cells *= len(lever_grid["steps"]) * len(lever_grid["resolutions"])
    lever_cells *= len(lever_grid["durations_s"])
    counts = job_counts(workdir.snakemake("-n").stdout)
    llm, image = config["llm"], config["image"]
    datasets = len(llm["datasets"])
    images = len(prompts) * len(image["resolutions"]) * len(image["steps"])
    assert counts == {
        "fetch_weights": len(config["models"]),
        "encode_prompt": len(prompts),
        "idle_baseline": 1,
        "generate": cells + lever_cells,
        "levers": 1,
        "collect": 1,
        **dict.fromkeys(CHART_JOBS, 1),
        "count_flops": 1,
        "findings": 1,
        "carbon": 1,
        "llm_prompts": datasets,
        "llm_weights": len(llm["models"]),
        "llm_request": len(llm["models"]) * datasets * llm["shards"],
        "collect_llm": 1,
        "generate_image": images,
        "collect_images": 1,
        "video_vs_text": 1,
        "score_quality": len(g["resolutions"]) * len(g["durations_s"]),  # a batch a shape
        "collect_quality": 1,
        "all": 1,
    }


def test_bad_config_fails_before_any_job(workdir):
    config = small_config()
    config["grid"]["resolutions"] = ["144p", "999p"]
    workdir.write_config(config)
    workdir.write_prompts(["a fox"])
    proc = workdir.snakemake(check=False)
    assert proc.returncode != 0
    assert "config key 'grid.resolutions[1]': '999p' is not allowed" in proc.stderr
    assert not (workdir.path / "results").exists()


def assert_console(console: str, results: Path, cells: str) -> None:
    """What the logger plugin printed (profiles/default sets it): the study, the planned jobs,
    a progress line every 10 % (stderr is no terminal here), the summary, the log."""
    lines = console.splitlines()
    study = next(i for i, line in enumerate(lines) if line.startswith("vidcarbon: study "))
    (planned,) = [i for i, line in enumerate(lines) if " jobs to run: " in line]
    assert study < planned
    total = int(lines[planned].split()[1])
    progress = [re.match(r"vidcarbon: (\d+) of (\d+) jobs done \((\d+) %\)", x) for x in lines]
    deciles = [int(m[3]) // 10 for m in progress if m]
    assert deciles == sorted(set(deciles)) and len(deciles) <= 11
    done = [line for line, m in zip(lines, progress, strict=True) if m]
    assert done[-1] == f"vidcarbon: {total} of {total} jobs done (100 %); cells {cells}"
    assert summarise(results).replace(str(results), "results") in console  # run in its workdir
    log = lines[-1].removeprefix("vidcarbon: complete log ")
    assert (results.parent / log).is_file() and log.startswith(".snakemake/log/")


def test_pipeline_end_to_end_then_incremental_reruns(workdir):
    config = small_config()
    workdir.write_config(config)
    workdir.write_prompts([NASTY[0], NASTY[1], NASTY[2], NASTY[3]])
    pwned = Path("/tmp/vidcarbon-pwned")
    pwned.unlink(missing_ok=True)
    console = workdir.snakemake().stderr
    results = workdir.path / "results"
    assert_console(console, results, cells="8 ok")

    runs = read_table("runs", results / "runs.parquet").to_pandas()
    assert len(runs) == 4 * 2 and set(runs.status) == {"ok"}
    assert sorted(runs.prompt.unique()) == sorted(NASTY)  # text survived, verbatim
    assert not pwned.exists()  # and never reached a shell
    assert (runs.cpu_method == "estimated").all() and runs.gpu_method.isna().all()
    # the estimate's CPU is this host's, its idle does not apply, it cannot be shared
    assert runs.cpu_model.notna().all() and (runs.cpu_power_per_core_w > 0).all()
    assert runs.idle_cpu_power_w.isna().all() and runs.cpu_shared.isna().all()
    assert set(runs.idle_subtraction) == {"cpu: not applicable"}
    assert np.allclose(runs.net_energy_j, runs.energy_j)
    assert set(runs.phase_state) == {"warm"} and set(runs.attempt) == {1}
    assert (runs.frames == 4).all() and (runs.tokens_per_frame == 144).all()
    total = runs.encode_energy_j + runs.denoise_energy_j + runs.decode_energy_j
    assert np.allclose(runs.energy_j, total) and (runs.energy_j > 0).all()
    assert (runs.warmup_duration_s > 0).all() and (runs.load_duration_s > 0).all()
    # one text-encoding job per prompt, shared by that prompt's cells
    assert runs.groupby("prompt_id").encode_energy_j.nunique().eq(1).all()

    steps = read_table("steps", results / "steps.parquet").to_pandas()
    assert len(steps) == 4 * (1 + 2)
    per_cell = steps.groupby("cell_id").duration_s.sum()
    denoise = runs.set_index("cell_id").denoise_duration_s
    # step windows are contiguous inside the denoising window: they cover most of it, never more
    assert ((per_cell / denoise[per_cell.index]).between(0.5, 1.0 + 1e-9)).all()

    traces = read_table("traces", results / "traces.parquet").to_pandas()
    # every phase longer than two sampling periods (0.05 s) has samples; the toy decoder can
    # be faster than one period, and then no sample falls inside it
    long_phases = {
        phase
        for phase in ("warmup", "denoise", "decode")
        if (runs[f"{phase}_duration_s"] > 2 * 0.05).any()
    }
    assert long_phases <= set(traces.phase)
    assert set(traces.phase) & {"load", "warmup", "denoise", "decode"}  # samples are labelled
    assert set(traces.job_kind) == {"encode", "generate"}

    con = duckdb.connect()
    by_steps = con.execute(
        f"select steps, count(*), avg(denoise_duration_s) from '{results}/runs.parquet' "
        "group by steps order by steps"
    ).fetchall()
    assert [(s, n) for s, n, _ in by_steps] == [(1, 4), (2, 4)]
    meta = pq.read_schema(results / "runs.parquet").metadata
    assert b"vidcarbon.git_commit" in meta and b"vidcarbon.hostnames" in meta

    for video_path in runs.video_path:
        frames = read_mp4(workdir.path / video_path)
        assert frames.shape == (4, 144, 256, 3)
    charts = ("rq1_energy_sources", "rq3_phase_shares", "rq5_resolution", "rq5_duration")
    for chart in (
        *charts,
        "power_trace",
        "carbon_credits",
        "carbon_by_time",
        "rq4_steps_carbon_quality",
    ):
        assert (results / "charts" / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every rule that declares a log writes it, the local rules and each chart's job included
    logs = workdir.path / "logs"
    for name in ("collect", "collect_quality", "carbon", "count_flops", "findings"):
        assert (logs / f"{name}.log").is_file(), name
    assert {p.stem for p in (logs / "charts").glob("*.log")} == set(CHARTS)

    workdir.snakemake("--report", str(results / "report.html"))
    report = (results / "report.html").read_text()
    assert "RQ3 phases" in report and "power_trace.png" in report
    # findings as a table, and every chart also as its interactive HTML
    assert "findings.html" in report and "rq5_resolution.html" in report
    # self-contained: nothing is loaded from the network (the charts carry Vega inline)
    assert not re.findall(r"<(?:script|link)[^>]+(?:src|href)=[\"']https?://", report)
    findings_page = (results / "findings.html").read_text()
    assert "<table>" in findings_page and "<th>verdict</th>" in findings_page

    quality = read_table("quality", results / "quality.parquet").to_pandas()
    assert len(quality) == 4 * 2 * 3 and set(quality.status) == {"ok"}
    assert set(quality.metric) == {"temporal_flickering", "sharpness", "noise"}
    assert set(quality.cell_id) == set(runs.cell_id) and quality.pretrained.isna().all()

    # every row of every table names the study (the config file's name) and one hash
    tables = sorted(results.glob("*.parquet"))
    assert {"runs", "steps", "carbon", "quality", "flops", "findings"} <= {t.stem for t in tables}
    studies = {
        tuple(row.values())
        for t in tables
        for row in pq.read_table(t, columns=["study", "study_hash"]).to_pylist()
    }
    ((name, first_hash),) = studies
    assert name == "config" and len(first_hash) == 16

    cell_records = records(results / "cells") + records(results / "quality")
    before = {p: p.stat().st_mtime_ns for p in cell_records}
    encode_before = {p: p.stat().st_mtime_ns for p in records(results / "encode")}

    # (a) a new steps value runs and scores only the new cells (and collects)
    config["grid"]["steps"] = [1, 2, 3]
    workdir.write_config(config)
    planned = job_counts(workdir.snakemake("-n").stdout)
    # same shapes, so no new FLOP count; the shape's scoring batch scores only the new videos
    # (below); every chart of the runs redrawn, not the video-vs-text one (no baseline here)
    assert planned == {
        "generate": 4,
        "collect": 1,
        "score_quality": 1,
        "collect_quality": 1,
        **dict.fromkeys(RUN_CHART_JOBS, 1),
        "findings": 1,
        "carbon": 1,
        "levers": 1,  # reads runs and carbon (no lever configured here: an empty table)
        "all": 1,
    }
    workdir.snakemake()
    assert all(p.stat().st_mtime_ns == m for p, m in before.items())
    batch = json.loads((results / "scoring/latte-tiny/144p_f4.json").read_text())
    assert (batch["scored"], batch["reused"]) == (4, 8)
    assert len(read_table("runs", results / "runs.parquet")) == 4 * 3
    assert len(read_table("quality", results / "quality.parquet")) == 4 * 3 * 3
    # another grid is another study: every table is restamped but the FLOP counts, which
    # keep the study they were counted under (same models and shapes: not counted again)
    hashes = {
        t.stem: set(pq.read_table(t, columns=["study_hash"])["study_hash"].to_pylist())
        for t in tables
    }
    assert hashes.pop("flops") == {first_hash}
    ((second_hash,),) = {tuple(h) for h in hashes.values() if h}  # some tables have no rows
    assert second_hash != first_hash

    # (b) a parameter that only a downstream rule uses reruns no encode or generate job; it
    # is part of the study (its hash), so the quality table is restamped, no video rescored
    config["measurement"]["idle_duration_s"] = 0.3
    workdir.write_config(config)
    counts = job_counts(workdir.snakemake("-n").stdout)
    assert counts == {
        "idle_baseline": 1,
        "collect": 1,
        "collect_quality": 1,
        **dict.fromkeys(RUN_CHART_JOBS, 1),
        "findings": 1,
        "carbon": 1,
        "levers": 1,  # reads runs and carbon (no lever configured here: an empty table)
        "all": 1,
    }
    workdir.snakemake()
    assert all(p.stat().st_mtime_ns == m for p, m in encode_before.items())


def test_killed_run_resumes_without_redoing_or_corrupting(workdir):
    config = small_config()
    config["grid"]["steps"] = [1, 2, 3, 4]
    workdir.write_config(config)
    workdir.write_prompts(["a heron wading at dawn"])
    cells = workdir.path / "results" / "cells"
    log = workdir.path / "snakemake.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(workdir.path), "--cores", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 300
    # a cell's record is written as its job ends; one cell is measured at a time, so by the
    # second record Snakemake has long registered the first job as finished
    while len(records(cells)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "no cell finished"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    workdir.snakemake("--unlock")  # a killed Snakemake leaves its lock; README says so
    planned = workdir.snakemake("-n").stdout
    outputs = re.findall(r"^rule generate:\n\s+input: .*\n\s+output: (.*)$", planned, re.M)
    redo = {workdir.path / p for line in outputs for p in line.split(", ") if p.endswith(".json")}
    done = {p: p.stat().st_mtime_ns for p in records(cells) if p not in redo}
    assert done, "Snakemake should keep the cells that finished before the kill"
    assert job_counts(planned)["generate"] == 4 - len(done)
    workdir.snakemake()
    assert all(p.stat().st_mtime_ns == m for p, m in done.items())
    runs = read_table("runs", workdir.path / "results" / "runs.parquet").to_pandas()
    assert len(runs) == 4 and set(runs.status) == {"ok"}
    for video_path in runs.video_path:
        assert read_mp4(workdir.path / video_path).shape[0] == 4


FAILING_BACKEND = '''
import json
import os
import signal

import torch

from vidcarbon.backends.latte_tiny import LatteTiny


class Failing(LatteTiny):
    """latte-tiny that runs out of memory at 2 steps and is SIGKILLed at 3 (after step 0)."""

    def denoise(self, embeddings, shape, steps, seed, on_step=None):
        def step(i):
            if on_step:
                on_step(i)
            if steps == 2 and i == 0:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
            if steps == 3 and i == 0:
                os.kill(os.getpid(), signal.SIGKILL)

        return super().denoise(embeddings, shape, steps, seed, on_step=step)
'''


def test_failed_cells_are_recorded_and_the_rest_goes_on(workdir):
    (workdir.path / "failing_backend.py").write_text(FAILING_BACKEND)
    config = small_config()
    config["grid"]["steps"] = [1, 2, 3]
    config["models"]["flaky"] = {"backend": "failing_backend:Failing", "options": {}}
    workdir.write_config(config)
    workdir.write_prompts(["a kettle on a stove"])
    env = {"PYTHONPATH": os.pathsep.join([str(workdir.path), os.environ.get("PYTHONPATH", "")])}
    console = workdir.snakemake(env=env).stderr
    runs = read_table("runs", workdir.path / "results" / "runs.parquet").to_pandas()
    flaky = runs[runs.model == "flaky"].set_index("steps")
    assert flaky.status.to_dict() == {1: "ok", 2: "oom", 3: "killed"}
    # the console names each failed cell as it ends, counts them, and ends with the summary
    assert f"vidcarbon: cell {flaky.cell_id[2]} oom: " in console
    assert f"vidcarbon: cell {flaky.cell_id[3]} killed: " in console
    assert_console(console, workdir.path / "results", cells="4 ok, 1 killed, 1 oom")
    assert "vidcarbon retry --status killed --status oom && make run" in console
    assert "CUDA out of memory" in flaky.error[2]
    assert "SIGKILL" in flaky.error[3]
    # what was measured before the failure is kept
    assert flaky.warmup_duration_s[2] > 0 and flaky.denoise_duration_s[2] > 0
    steps = read_table("steps", workdir.path / "results" / "steps.parquet").to_pandas()
    assert len(steps[(steps.model == "flaky") & (steps.steps == 2)]) == 1
    assert set(runs[runs.model == "latte-tiny"].status) == {"ok"}
    # their 0-byte placeholder videos give failed quality rows; the other videos are scored
    quality = read_table("quality", workdir.path / "results" / "quality.parquet").to_pandas()
    by_steps = quality[quality.model == "flaky"].groupby("steps")
    assert by_steps.status.agg(set).to_dict() == {1: {"ok"}, 2: {"failed"}, 3: {"failed"}}
    errors = quality[(quality.model == "flaky") & (quality.steps == 2)].error
    assert errors.str.contains("generation ended with status 'oom'").all()
    assert set(quality[quality.model == "latte-tiny"].status) == {"ok"}

    # the summary names the retry command for exactly the failed statuses
    summary = summarise(workdir.path / "results").splitlines()
    assert summary[0] == "vidcarbon: video cells 4 ok, 1 killed, 1 oom"
    (retry_line,) = [line for line in summary if line.startswith("  retry the 2 failed: ")]
    assert retry_line.split(": ", 1)[1] == (
        "vidcarbon retry --status killed --status oom && make run"
    )

    # `vidcarbon retry --status oom` makes the next run redo that cell and nothing else
    cells = workdir.path / "results" / "cells"
    kept = {p: p.stat().st_mtime_ns for p in records(cells)}
    oom_record = cells / "flaky" / runs.prompt_id.iloc[0] / "144p_f4_s2_seed0_baseline.json"
    del kept[oom_record]
    retry = subprocess.run(
        [str(Path(SNAKEMAKE).with_name("vidcarbon")), "retry", "--status", "oom"],
        cwd=workdir.path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 job(s) with status oom will run again" in retry.stdout
    assert job_counts(workdir.snakemake("-n", env=env).stdout)["generate"] == 1
    workdir.snakemake(env=env)
    assert all(p.stat().st_mtime_ns == m for p, m in kept.items())
    again = read_table("runs", workdir.path / "results" / "runs.parquet").to_pandas()
    again = again[again.model == "flaky"].set_index("steps")
    assert again.status.to_dict() == {1: "ok", 2: "oom", 3: "killed"}  # it fails the same way
    assert again.attempt.to_dict() == {1: 1, 2: 2, 3: 1}
    assert again.previous_statuses[2] == "oom" and again.run_id[2] != flaky.run_id[2]


OOM_ONCE_BACKEND = '''
from pathlib import Path

import torch

from vidcarbon.backends.latte_tiny import LatteTiny


class OomOnce(LatteTiny):
    """latte-tiny that runs out of memory the first time it denoises in this directory."""

    def denoise(self, embeddings, shape, steps, seed, on_step=None):
        marker = Path("oom-once.marker")
        if not marker.exists():
            marker.touch()
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return super().denoise(embeddings, shape, steps, seed, on_step=on_step)
'''


def test_with_retries_an_oom_cell_is_resubmitted_and_keeps_its_history(workdir):
    (workdir.path / "oom_once.py").write_text(OOM_ONCE_BACKEND)
    config = small_config()
    config["grid"]["steps"] = [1]
    config["measurement"]["warmup_steps"] = 0
    config["models"] = {"once": {"backend": "oom_once:OomOnce", "options": {}}}
    workdir.write_config(config)
    workdir.write_prompts(["a kettle on a stove"])
    env = {"PYTHONPATH": os.pathsep.join([str(workdir.path), os.environ.get("PYTHONPATH", "")])}
    proc = workdir.snakemake("--retries", "1", "results/runs.parquet", env=env)
    assert "ResubmitWithMoreResources" in proc.stderr  # attempt 1 failed on purpose
    runs = read_table("runs", workdir.path / "results" / "runs.parquet").to_pandas()
    (row,) = runs.itertuples()
    assert (row.status, row.attempt, row.previous_statuses) == ("ok", 2, "oom")
