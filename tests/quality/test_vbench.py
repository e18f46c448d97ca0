"""The real VBench path (imaging_quality/MUSIQ, overall_consistency/ViCLIP) in VBench's own venv,
with random placeholder checkpoints. Run by `make test-quality`; see docs/quality.md for why it
is not part of `make test`.
"""

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.quality import clips
from vidcarbon.quality import metrics
from vidcarbon.quality.scoring import decode, score_video
from vidcarbon.video import write_mp4

pytestmark = pytest.mark.vbench

PYTHON = os.environ.get("VIDCARBON_QUALITY_PYTHON")
QUALITY = REPO / "src" / "vidcarbon" / "quality"
if not PYTHON:
    pytest.skip(
        "VBench tests run in `make test-quality` (set VIDCARBON_QUALITY_PYTHON to VBench's python)",
        allow_module_level=True,
    )
if not Path(PYTHON).is_file():
    pytest.skip(f"no VBench python at {PYTHON}: run `make quality-env`", allow_module_level=True)

DIMENSIONS = ["imaging_quality", "overall_consistency"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Random-weight MUSIQ and ViCLIP checkpoints at the paths VBench checks (1.7 GB, removed
    afterwards rather than left to pytest's retention of old temp dirs)."""
    cache = tmp_path_factory.mktemp("vbench-cache")
    subprocess.run(
        [PYTHON, str(QUALITY / "vbench_placeholders.py"), str(cache)], check=True, timeout=600
    )
    yield cache
    shutil.rmtree(cache)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "smooth.mp4"
    write_mp4(path, clips.smooth(frames=8), fps=8)
    return path


def vbench_settings(cache, dimensions=DIMENSIONS):
    return {"enabled": True, "python": PYTHON, "cache_dir": str(cache), "dimensions": dimensions}


def test_vbench_scores_are_finite_and_marked_not_pretrained(cache, video):
    prompt = 'a bar drifting; $(touch /tmp/vidcarbon-pwned) "quoted" \\ `x`'
    rows = {r["metric"]: r for r in score_video(video, prompt, [], vbench_settings(cache))}
    assert list(rows) == DIMENSIONS
    for dim, row in rows.items():
        assert row["status"] == "ok", row["error"]
        assert math.isfinite(row["value"]), dim
        assert row["pretrained"] is False  # random placeholders never pass as quality scores
        assert row["metric_version"].startswith("vbench-0.1.5:"), row["metric_version"]
    # MUSIQ/100 is in [0, 1] with its real weights; a random head stays near 0
    assert abs(rows["imaging_quality"]["value"]) < 1.0
    assert -1.0 <= rows["overall_consistency"]["value"] <= 1.0  # a cosine
    assert not Path("/tmp/vidcarbon-pwned").exists()


def test_missing_prompt_fails_only_consistency(cache, video):
    rows = score_video(video, None, ["sharpness"], vbench_settings(cache, ["imaging_quality"]))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    rows = score_video(video, None, [], vbench_settings(cache))
    assert [(r["metric"], r["status"]) for r in rows] == [
        ("imaging_quality", "ok"),
        ("overall_consistency", "failed"),
    ]


def test_missing_checkpoint_fails_without_downloading(tmp_path, video):
    rows = score_video(video, "a fox", [], vbench_settings(tmp_path / "empty"))
    for row in rows:
        assert row["status"] == "failed"
        assert "missing in VBENCH_CACHE_DIR" in row["error"]
    assert not (tmp_path / "empty" / "pyiqa_model").exists()  # VBench's wget never ran


def test_our_temporal_flickering_matches_vbench(tmp_path):
    """Same formula and value as vbench.temporal_flickering on the same file (cv2 decoding)."""
    ours = {}
    for name, clip in (("smooth", clips.smooth()), ("flicker", clips.flickering())):
        path = tmp_path / f"{name}.mp4"
        write_mp4(path, clip, fps=8)
        ours[name] = (path, metrics.temporal_flickering(decode(path)))
    code = (
        "import json, sys; from vbench.temporal_flickering import cal_score; "
        "print(json.dumps([cal_score(p) for p in sys.argv[1:]]))"
    )
    out = subprocess.run(
        [PYTHON, "-c", code, *(str(p) for p, _ in ours.values())],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "VBENCH_CACHE_DIR": str(tmp_path)},
    )
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    for (_, value), vbench_value in zip(ours.values(), theirs, strict=True):
        assert value == pytest.approx(vbench_value, abs=1e-5)
