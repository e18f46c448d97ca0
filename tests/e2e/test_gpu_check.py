"""The GPU check's command in its CPU mode (tiny models, real Snakemake, real rules): every part
runs in its own budget, one that runs out of time leaves the others, and the figures table and
the archive come back in the layout a GPU run writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO
from vidcarbon.tables import SCHEMAS

pytestmark = pytest.mark.e2e
OUTPUTS = {"gpu_check.log", "gpu_check.parquet", "gpu_check.md", "gpu_check_tables.tar.gz"}


def gpu_check(tmp_path, *args: str, timeout: int = 600, prefix=()) -> subprocess.CompletedProcess:
    out, work = tmp_path / "out", tmp_path / "work"
    return subprocess.run(
        [*prefix, "bash", str(REPO / "benchmarks" / "gpu_check.sh")]
        + ["--out", str(out), "--work", str(work), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHON": sys.executable},
    )


def figures(tmp_path) -> tuple[list[dict], dict[str, str]]:
    table = pq.read_table(tmp_path / "out" / "gpu_check.parquet")
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    return table.to_pylist(), meta


def value(rows, part, figure, subject=None) -> float | None:
    (row,) = [
        r
        for r in rows
        if r["part"] == part
        and r["figure"] == figure
        and (subject is None or subject in r["subject"])
    ]
    return row["value"]


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gpu-check")
    proc = gpu_check(tmp_path, "--cpu")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp_path


def test_cpu_mode_runs_every_part_in_order(cpu_run):
    assert {p.name for p in (cpu_run / "out").iterdir()} == OUTPUTS
    rows, meta = figures(cpu_run)
    parts = json.loads(meta["vidcarbon.gpu_check.parts"])
    assert [(p["part"], p["status"]) for p in parts] == [
        (name, "ok")
        for name in (
            "energy",
            "wan",
            "llm",
            "wan-flops",
            "levers",
            "cogvideox",
            "latte",
            "parallel",
        )
    ]
    assert all(p["wall_s"] <= p["budget_s"] for p in parts)
    assert meta["vidcarbon.gpu_check.mode"].startswith("cpu")
    assert meta["vidcarbon.table"] == "gpu_check" and len(meta["vidcarbon.git_commit"]) == 40
    assert [f.name for f in pq.read_schema(cpu_run / "out" / "gpu_check.parquet")] == SCHEMAS[
        "gpu_check"
    ].names  # GPU_CHECK plus the study columns


def test_the_figures_come_from_the_parts_tables(cpu_run):
    rows, _ = figures(cpu_run)
    runs = pq.read_table(cpu_run / "work" / "parts" / "wan" / "runs.parquet").to_pylist()
    (run,) = runs
    assert (run["height"], run["width"], run["frames"], run["steps"]) == (32, 48, 5, 2)
    phases = sum(run[f"{p}_cpu_energy_j"] for p in ("encode", "denoise", "decode"))
    assert value(rows, "wan", "CPU energy per video") == pytest.approx(phases)
    assert value(rows, "wan", "time per video") == pytest.approx(run["generation_duration_s"])
    steps = pq.read_table(cpu_run / "work" / "parts" / "wan" / "steps.parquet").to_pylist()
    assert value(rows, "wan", "step time, mean") == pytest.approx(
        sum(s["duration_s"] for s in steps) / 2
    )
    # the GPU-only figures say why they are missing
    difference = [r for r in rows if r["figure"] == "meter minus counter"][0]
    assert difference["value"] is None and difference["status"] == "not measured"
    assert value(rows, "energy", "matmul throughput") > 0
    # the LLM part answered each dataset at the CPU mode's fixed targets
    targets = yaml.safe_load((REPO / "config/gpu-check/cpu/wan.yaml").read_text())["llm"]
    for dataset, tokens in targets["output_tokens"]["target"].items():
        assert value(rows, "llm", "output tokens", f" {dataset}") == tokens
        assert value(rows, "llm", "decode CPU energy per token", f" {dataset}") > 0
    # Latte's two cells: its native shape and the paper's 2 s 240p cell, both 16 frames at 8 fps
    latte = {r["subject"] for r in rows if r["part"] == "latte" and r["figure"] == "time per video"}
    assert latte == {
        "latte-1 480p (32x32), 16 frames (2 s), 2 steps",
        "latte-1 240p (32x48), 16 frames (2 s), 2 steps",
    }
    # the levers part measured only its two lever cells, against the wan part's baseline
    levers = pq.read_table(cpu_run / "work" / "parts" / "levers" / "levers.parquet").to_pylist()
    assert {r["lever"] for r in levers} == {"cfg-off", "half-steps"}
    assert {r["baseline_cell_id"] for r in levers} == {run["cell_id"]}
    after = pq.read_table(cpu_run / "work" / "parts" / "levers" / "runs.parquet").to_pylist()
    (baseline,) = [r for r in after if r["cell_id"] == run["cell_id"]]
    assert baseline["run_id"] == run["run_id"]  # the same measurement, not a new one
    saved = [r for r in rows if r["part"] == "levers" and r["figure"] == "energy saved"]
    assert len(saved) == 2 and all(r["status"] == "measured" for r in saved)
    half = next(r for r in levers if r["lever"] == "half-steps")
    assert half["steps_run"] == 1 and half["denoise_energy_saved_j"] > 0
    flops = value(rows, "wan-flops", "denoising FLOPs")
    assert flops > 0 and value(rows, "wan-flops", "utilisation of the matmul rate") > 0
    # the parallel part: the wan cell on two processes, against the wan part's cell
    split = pq.read_table(cpu_run / "work" / "parts" / "parallel" / "runs.parquet").to_pylist()
    (two,) = [r for r in split if r["gpus"] == 2]
    assert two["status"] == "ok" and two["cell_id"] == run["cell_id"] + "_g2u2r1"
    (one,) = [r for r in split if r["gpus"] == 1]
    assert one["run_id"] == run["run_id"]  # the wan part's measurement, not a new one
    speedup = value(rows, "parallel", "speedup")
    assert speedup == pytest.approx(
        (run["denoise_duration_s"] + run["decode_duration_s"])
        / (two["denoise_duration_s"] + two["decode_duration_s"])
    )
    assert 0.5 <= value(rows, "parallel", "largest rank's energy share") < 1


def test_the_archive_and_the_summary_hold_every_part(cpu_run):
    with tarfile.open(cpu_run / "out" / "gpu_check_tables.tar.gz") as tar:
        names = set(tar.getnames())
    for kept in ("wan/runs.parquet", "llm/llm.parquet", "wan-flops/flops.parquet"):
        assert f"parts/{kept}" in names
    assert "parts/energy/energy_check_cpu.json" in names
    assert not [n for n in names if n.endswith((".mp4", ".pt"))]
    rows, _ = figures(cpu_run)
    table_lines = [
        line
        for line in (cpu_run / "out" / "gpu_check.md").read_text().splitlines()
        if line[:2] == "| "
    ]
    assert len(table_lines) == len(rows) + 1  # a header, then one line per figure


def test_the_two_gpu_part_is_skipped_on_a_node_with_one(tmp_path):
    """In --cpu mode a "GPU" is a core this process may use: pinned to one core, the node
    has one, and the parallel part says so without changing the exit status."""
    proc = gpu_check(tmp_path, "--cpu", "--parts", "wan,parallel", prefix=["taskset", "-c", "0"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows, meta = figures(tmp_path)
    statuses = {p["part"]: p["status"] for p in json.loads(meta["vidcarbon.gpu_check.parts"])}
    assert statuses == {"wan": "ok", "parallel": "skipped: one GPU"}
    parallel = [r for r in rows if r["part"] == "parallel" and r["subject"] != "the part"]
    assert parallel and {r["status"] for r in parallel} == {"skipped: one GPU"}
    assert not (tmp_path / "work" / "parts" / "parallel").exists()


def test_a_part_out_of_time_leaves_the_next_part_and_the_earlier_tables(tmp_path):
    proc = gpu_check(tmp_path, "--cpu", "--parts", "energy,wan,llm", "--budget", "wan=3")
    assert proc.returncode == 1  # a part did not finish
    rows, meta = figures(tmp_path)
    statuses = {p["part"]: p["status"] for p in json.loads(meta["vidcarbon.gpu_check.parts"])}
    assert statuses == {"energy": "ok", "wan": "timed out", "llm": "ok"}
    wan = [r for r in rows if r["part"] == "wan" and r["subject"] != "the part"]
    assert wan and {r["status"] for r in wan} == {"timed out"}
    assert {r["value"] for r in wan} == {None}
    assert value(rows, "llm", "output tokens", " alpaca") == 8
    assert value(rows, "energy", "matmul throughput") > 0
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    assert re.search(r"part wan: timed out in [0-9.]+ s", log)


def test_optional_parts_that_do_not_fit_are_skipped_and_leave_the_exit_status_alone(tmp_path):
    # cogvideox starts (its prediction fits) but runs out of its 1 s; latte's prediction does
    # not fit what is left, so it never starts
    proc = gpu_check(
        tmp_path, "--cpu", "--parts", "energy,cogvideox,latte",
        "--budget", "cogvideox=1", "--predict", "latte=10000",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows, meta = figures(tmp_path)
    parts = {p["part"]: p for p in json.loads(meta["vidcarbon.gpu_check.parts"])}
    assert {name: p["status"] for name, p in parts.items()} == {
        "energy": "ok",
        "cogvideox": "skipped: time",
        "latte": "skipped: time",
    }
    assert parts["cogvideox"]["reason"] == "stopped at its budget of 1 s"
    assert parts["latte"]["wall_s"] is None and "predicted 10000 s" in parts["latte"]["reason"]
    latte = [r for r in rows if r["part"] == "latte"]
    assert latte and {r["status"] for r in latte} == {"skipped: time"}
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    assert "required parts not ok: none; optional: cogvideox skipped: time" in log
    # the pre-flight ran first and its versions are kept, the CUDA driver's among them on a GPU
    preflight = json.loads(meta["vidcarbon.gpu_check.preflight"])
    assert preflight["ok"] and preflight["mode"] == "cpu"
    versions = json.loads(meta["vidcarbon.gpu_check.versions"])
    assert {"pandas", "pyarrow", "numpy", "imageio", "typing-extensions"} <= set(versions)


def test_the_preflight_alone(tmp_path):
    proc = gpu_check(tmp_path, "--cpu", "--preflight")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "preflight.json").read_text())
    assert result["ok"] and result["seconds"] < 60
    steps = {s["step"] for s in result["steps"]}
    assert {"import snakemake.api", "import zeus.device", "diffusers.WanPipeline"} <= steps
    assert not (tmp_path / "work").exists()  # no part ran


def test_a_failed_preflight_stops_the_check_with_one_line(tmp_path):
    broken = tmp_path / "broken" / "zeus"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('zeus is broken here')\n")
    env_path = f"{broken.parent}:{os.environ.get('PYTHONPATH', '')}"
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--cpu", "--out", str(out)]
        + ["--work", str(work)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": env_path},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "gpu_check: pre-flight failed at import zeus.device: ImportError: zeus is broken here; "
        f"nothing else ran (details: {out / 'gpu_check.log'})"
    ]
    assert not work.exists() and not (out / "gpu_check.parquet").exists()


def test_dry_run_builds_every_part_of_the_gpu_configs(tmp_path):
    proc = gpu_check(tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    for part in ("energy", "wan", "llm", "wan-flops", "levers", "cogvideox", "latte"):
        assert f"part {part}: ok" in log
    required = re.findall(r"part ([a-z-]+) \(required\)", log)
    assert required == ["energy", "wan", "llm", "wan-flops"]
    # the GPU configs at full size: Wan's 81 frames of 480x832 and the energy check on cuda
    assert "480p_f81_s50_seed0" in log and "results/energy_check/cuda.json" in log


def test_the_wheel_list_pins_one_version_of_each_package():
    lines = [
        line.strip()
        for line in (REPO / "benchmarks" / "gpu_check_wheels.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = [line.split("==")[0].lower().replace("_", "-") for line in lines]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.+-]*", line) for line in lines)
    assert len(set(names)) == len(names)
    assert {"snakemake", "zeus", "diffusers", "jsonschema", "imageio-ffmpeg"} <= set(names)
    # what the GPU machine already has must not travel: two versions stop the install
    assert not {"torch", "transformers", "numpy", "pyarrow", "pandas"} & set(names)
