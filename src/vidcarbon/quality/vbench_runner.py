"""VBench scoring, run *inside VBench's own venv* as `python vbench_runner.py REQUEST.json`.

Imports only the standard library, torch and vbench (never vidcarbon: that lives in the other
venv). The request names the videos (path, prompt), the dimensions, the device and the output
file; the result gives, per video and dimension, status, value, error, metric_version and whether
the checkpoint is the pretrained one. Checkpoints must already be in $VBENCH_CACHE_DIR: a missing
one fails that dimension instead of letting VBench download it, because scoring jobs run offline.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
import traceback
from importlib import metadata, resources
from pathlib import Path

# Files each dimension needs under $VBENCH_CACHE_DIR (the paths vbench.utils.init_submodules
# checks); the first one is the network's checkpoint.
CACHE_FILES = {
    "imaging_quality": ["pyiqa_model/musiq_spaq_ckpt-358bb6af.pth"],
    "overall_consistency": [
        "ViCLIP/ViClip-InternVid-10M-FLT.pth",
        "ViCLIP/bpe_simple_vocab_16e6.txt.gz",
    ],
}
# pyiqa names its release checkpoints after the first 8 hex digits of their SHA-256.
KNOWN_SHA256_PREFIX = {"pyiqa_model/musiq_spaq_ckpt-358bb6af.pth": "358bb6af"}
# Written by vidcarbon's weights fetch after downloading from the official URL: {file: sha256}.
FETCHED_MANIFEST = "vidcarbon-fetched.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def is_pretrained(cache: Path, name: str, digest: str) -> bool:
    """True only for a checkpoint proven to be the published one (hash), never by its name."""
    if name in KNOWN_SHA256_PREFIX:
        return digest.startswith(KNOWN_SHA256_PREFIX[name])
    manifest = cache / FETCHED_MANIFEST
    fetched = json.loads(manifest.read_text()) if manifest.is_file() else {}
    return fetched.get(name) == digest


def check_cache(cache: Path, dimension: str) -> tuple[bool, str]:
    """(pretrained, metric_version) of a dimension; FileNotFoundError naming a missing file."""
    missing = [n for n in CACHE_FILES[dimension] if not (cache / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{dimension}: {', '.join(missing)} missing in VBENCH_CACHE_DIR={cache}; fetch the "
            "checkpoints on a host with internet (rule fetch_vbench_weights) before scoring"
        )
    name = CACHE_FILES[dimension][0]
    digest = sha256(cache / name)
    version = f"vbench-{metadata.version('vbench')}:{Path(name).stem}@sha256:{digest[:12]}"
    return is_pretrained(cache, name, digest), version


def evaluate(videos: list[dict], dimension: str, device: str, workdir: Path) -> list[float]:
    """One VBench custom-input evaluation of `dimension`; a value per video, in order."""
    import torch
    from vbench import VBench

    videos_dir = workdir / f"{dimension}-videos"
    videos_dir.mkdir()
    prompts = {}
    for i, video in enumerate(videos):
        name = f"video{i:05d}.mp4"
        (videos_dir / name).symlink_to(Path(video["path"]).resolve())
        prompts[name] = video["prompt"]
    full_info = resources.files("vbench") / "VBench_full_info.json"
    bench = VBench(torch.device(device), str(full_info), str(workdir / dimension))
    bench.evaluate(
        videos_path=str(videos_dir),
        name=dimension,
        prompt_list=prompts,
        dimension_list=[dimension],
        mode="custom_input",
    )
    results = json.loads((workdir / dimension / f"{dimension}_eval_results.json").read_text())
    _, per_video = results[dimension]
    by_name = {Path(r["video_path"]).name: float(r["video_results"]) for r in per_video}
    scale = 100.0 if dimension == "imaging_quality" else 1.0  # VBench divides only the mean
    return [by_name[f"video{i:05d}.mp4"] / scale for i in range(len(videos))]


def run(request: dict) -> dict:
    cache = Path(os.environ.get("VBENCH_CACHE_DIR", Path.home() / ".cache" / "vbench"))
    videos = request["videos"]
    out = [{"path": v["path"], "dimensions": {}} for v in videos]
    with tempfile.TemporaryDirectory(prefix="vbench-run-") as tmp:
        for dimension in request["dimensions"]:
            t0 = time.perf_counter()
            result = {"status": "failed", "value": None, "pretrained": None}
            try:
                if dimension not in CACHE_FILES:
                    raise ValueError(f"dimension {dimension!r} is not supported here")
                result["pretrained"], result["metric_version"] = check_cache(cache, dimension)
                values = evaluate(videos, dimension, request.get("device", "cpu"), Path(tmp))
            except Exception as exc:
                traceback.print_exc()
                result["error"] = f"{type(exc).__name__}: {exc}"
                values = [None] * len(videos)
            per_video_s = (time.perf_counter() - t0) / max(1, len(videos))
            for video, value in zip(out, values, strict=True):
                row = dict(result, value=value, duration_s=per_video_s)
                if value is not None and math.isfinite(value):
                    row["status"] = "ok"
                elif value is not None:
                    row.update(value=None, error=f"VBench returned a non-finite value ({value})")
                video["dimensions"][dimension] = row
    return {"vbench_version": metadata.version("vbench"), "videos": out}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python vbench_runner.py REQUEST.json", file=sys.stderr)
        return 2
    request = json.loads(Path(argv[1]).read_text())
    result = run(request)
    tmp = Path(request["output"]).with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, request["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
