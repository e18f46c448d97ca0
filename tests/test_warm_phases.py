"""Every phase is measured warm, by one rule for video, image and text, and rows say so."""

from __future__ import annotations

from vidcarbon.backends import VideoShape
from vidcarbon.workloads.image.measured import generate_image
from vidcarbon.workloads.measured import Measurement
from vidcarbon.workloads.rows import measurement_columns
from vidcarbon.workloads.text.measured import run_requests
from vidcarbon.workloads.video.measured import encode_prompt

PROMPT = {"prompt_id": "p1", "dataset": "nq_open", "text": "Q: who wrote frankenstein?\nA:"}


def names(record: dict) -> list[str]:
    return [w["name"] for w in record["windows"] if "/" not in w["name"]]


def test_video_text_encoding_is_warmed_up_like_the_image_and_the_llm(tmp_path):
    video = encode_prompt("latte-tiny", {}, "a fox", tmp_path / "e.pt", Measurement(), 1)
    assert names(video) == ["load", "warmup", "encode"] and video["phase_state"] == "warm"
    image = generate_image(
        "pixart-tiny", {}, "a fox", VideoShape(1, 144, 256), 2, 0, 1, tmp_path / "i.png",
        Measurement(),
    )  # fmt: skip
    assert names(image)[:3] == ["load", "warmup", "encode"] and image["phase_state"] == "warm"
    text = run_requests({}, [PROMPT], {"nq_open": 4}, 8, 1, 2, Measurement())
    assert names(text) == ["load", "warmup"] and text["phase_state"] == "warm"
    windows = [w["name"] for w in text["windows"]]
    assert windows.index("prefill/warmup") < windows.index("prefill/0")


def test_warm_up_off_measures_cold_and_says_so(tmp_path):
    video = encode_prompt("latte-tiny", {}, "a fox", tmp_path / "e.pt", Measurement(), 0)
    assert names(video) == ["load", "encode"] and video["phase_state"] == "cold"
    text = run_requests({}, [PROMPT], {"nq_open": 4}, 8, 1, 0, Measurement())
    assert text["phase_state"] == "cold"
    # a runs row holds the encode job's and the generate job's phases: both must agree
    assert measurement_columns({"phase_state": "warm"}, {}, video)["phase_state"] == "mixed"
    assert measurement_columns(video, {}, video)["phase_state"] == "cold"
