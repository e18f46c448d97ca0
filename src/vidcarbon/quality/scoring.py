"""Scoring one video: weight-free metrics here, VBench metrics in VBench's own venv.

Every planned metric yields exactly one row; a video that cannot be scored yields rows with
status `failed` and the reason, never an exception, so the other videos are still scored.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vidcarbon.errors import VidcarbonError
from vidcarbon.grid import Cell
from vidcarbon.quality.metrics import WEIGHT_FREE, UnscorableVideo
from vidcarbon.records import read_json, write_json_atomic
from vidcarbon.video import read_mp4

log = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("vbench_runner.py")
# VBench dimensions this project runs, with the unit of their value.
VBENCH_DIMENSIONS = {"imaging_quality": "fraction", "overall_consistency": "cosine"}
# Dimensions that compare the video with its prompt.
NEEDS_PROMPT = {"overall_consistency"}


class VBenchUnavailable(VidcarbonError):
    """VBench cannot run: its python is missing, or its subprocess failed."""


def vbench_job_params(vbench: dict[str, Any], device: str) -> dict[str, Any]:
    """VBench settings for a scoring job; none while disabled, so editing them reruns nothing."""
    if not vbench.get("enabled"):
        return {"enabled": False}
    return {**vbench, "device": device}


def planned_metrics(metrics: list[str], vbench: dict[str, Any]) -> list[str]:
    """Weight-free metrics, then the VBench dimensions when VBench is enabled."""
    return list(metrics) + (list(vbench["dimensions"]) if vbench.get("enabled") else [])


def _row(metric: str, **fields: Any) -> dict[str, Any]:
    if metric in WEIGHT_FREE:
        spec = WEIGHT_FREE[metric]
        base = {"metric_version": spec.version, "unit": spec.unit, "pretrained": None}
    else:
        base = {"metric_version": None, "unit": VBENCH_DIMENSIONS.get(metric), "pretrained": None}
    row = {"metric": metric, **base, "value": None, "status": "ok", "error": None}
    row.update(fields)
    return row


def _failed(metrics: list[str], reason: str) -> list[dict[str, Any]]:
    return [_row(m, status="failed", error=reason) for m in metrics]


def decode(video_path: str | Path) -> np.ndarray:
    """Frames of `video_path`; UnscorableVideo if it is empty, unreadable or has no frame."""
    path = Path(video_path)
    if not path.is_file():
        raise UnscorableVideo(f"video '{path}' does not exist")
    if path.stat().st_size == 0:
        raise UnscorableVideo(f"video '{path}' is empty (0 bytes)")
    try:
        frames = read_mp4(path)
    except Exception as exc:  # imageio/ffmpeg raise many types for a corrupt file
        raise UnscorableVideo(f"cannot decode video '{path}': {type(exc).__name__}: {exc}") from exc
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise UnscorableVideo(f"video '{path}' decodes to no frames (shape {frames.shape})")
    return frames


def score_video(
    video_path: str | Path,
    prompt: str | None,
    metrics: list[str],
    vbench: dict[str, Any],
    generation_error: str | None = None,
) -> list[dict[str, Any]]:
    """One row per planned metric for one video (see `planned_metrics`)."""
    planned = planned_metrics(metrics, vbench)
    if generation_error is not None:
        return _failed(planned, f"no video to score: {generation_error}")
    try:
        frames = decode(video_path)
    except UnscorableVideo as exc:
        return _failed(planned, str(exc))

    rows = []
    for name in metrics:
        t0 = time.perf_counter()
        try:
            value = WEIGHT_FREE[name].fn(frames)
        except UnscorableVideo as exc:
            rows.append(_row(name, status="failed", error=str(exc)))
            continue
        except Exception as exc:  # e.g. MemoryError on a huge video: a row, not a dead job
            rows.append(_row(name, status="failed", error=f"{type(exc).__name__}: {exc}"))
            continue
        rows.append(_row(name, value=value, duration_s=time.perf_counter() - t0))
    if vbench.get("enabled"):
        rows += _vbench_rows(video_path, prompt, list(vbench["dimensions"]), vbench)
    return rows


def _vbench_rows(video_path, prompt, dimensions, vbench) -> list[dict[str, Any]]:
    rows = {}
    if not prompt:
        for dim in NEEDS_PROMPT & set(dimensions):
            rows[dim] = _row(dim, status="failed", error="no prompt for this video")
    todo = [d for d in dimensions if d not in rows]
    if todo:
        try:
            results = run_vbench(video_path, prompt or "", todo, vbench)
        except VBenchUnavailable as exc:
            results = {d: {"status": "failed", "error": str(exc)} for d in todo}
        for dim in todo:
            r = results.get(dim, {"status": "failed", "error": "VBench returned no result"})
            rows[dim] = _row(
                dim,
                metric_version=r.get("metric_version"),
                value=r.get("value"),
                pretrained=r.get("pretrained"),
                status=r["status"],
                error=r.get("error"),
                duration_s=r.get("duration_s"),
            )
    return [rows[d] for d in dimensions]


def _vbench_python(python: str) -> str:
    found = shutil.which(python)
    if found is None:
        raise VBenchUnavailable(
            f"config key 'quality.vbench.python': {python!r} is not an executable; build the "
            "VBench venv with `make quality-env`, or point it at a python with vbench installed"
        )
    return found


def run_vbench(
    video_path: str | Path, prompt: str, dimensions: list[str], vbench: dict[str, Any]
) -> dict[str, dict]:
    """Run `vbench_runner.py` in VBench's python on one video; {dimension: result}.

    The prompt travels in a JSON request file, never on a command line.
    """
    python = _vbench_python(vbench["python"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    cache_dir = Path(vbench["cache_dir"]).expanduser().resolve()
    env.update(VBENCH_CACHE_DIR=str(cache_dir), HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory(prefix="vidcarbon-vbench-") as tmp:
        request = {
            "videos": [{"path": str(Path(video_path).resolve()), "prompt": prompt}],
            "dimensions": dimensions,
            "device": vbench.get("device", "cpu"),
            "output": str(Path(tmp) / "result.json"),
        }
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request))
        try:
            proc = subprocess.run(
                [python, str(RUNNER), str(request_path)],
                env=env,
                capture_output=True,
                text=True,
                timeout=vbench.get("timeout_s", 3600),
            )
        except subprocess.TimeoutExpired as exc:
            raise VBenchUnavailable(f"VBench did not finish in {exc.timeout} s") from exc
        log.info("VBench runner stderr:\n%s", proc.stderr[-20000:])
        if proc.returncode != 0 or not Path(request["output"]).is_file():
            raise VBenchUnavailable(
                f"VBench runner exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}"
            )
        result = json.loads(Path(request["output"]).read_text())
    return result["videos"][0]["dimensions"]


def score_cell(
    cell: Cell,
    video_path: str,
    cell_record_path: str,
    encode_record_path: str,
    metrics: list[str],
    vbench: dict[str, Any],
    record_path: str,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score one grid cell's video and write its quality record (JSON with one row a metric);
    `inputs`: what the score was computed from (`quality.batches.score_inputs`), kept in it."""
    gen = read_json(cell_record_path)
    generation_error = None
    if gen.get("status") != "ok":
        generation_error = f"generation ended with status {gen.get('status')!r}: {gen.get('error')}"
    try:
        prompt = read_json(encode_record_path).get("prompt")
    except (OSError, ValueError):
        prompt = None
    rows = score_video(video_path, prompt, metrics, vbench, generation_error)
    keys = {
        "cell_id": cell.cell_id,
        **{k: getattr(cell, k) for k in _CELL_FIELDS},
        "ulysses_degree": cell.ulysses,
        "ring_degree": cell.ring,
    }
    rows = [{**keys, "prompt_id": cell.prompt, **row} for row in rows]
    for row in rows:
        log.info("%s %s: %s %s", cell.cell_id, row["metric"], row["status"], row["value"])
    record = {
        "cell_id": cell.cell_id,
        "video_path": str(video_path),
        "hostname": socket.gethostname(),
        "inputs": inputs,
        "rows": rows,
    }
    write_json_atomic(record_path, record)
    return record


_CELL_FIELDS = ("model", "resolution", "frames", "steps", "seed", "lever", "gpus")
