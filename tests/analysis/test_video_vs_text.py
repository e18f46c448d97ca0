"""The video vs image vs text table, on hand-built tables with round numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from vidcarbon import defaults
from vidcarbon.analysis.video_vs_text import PAPER_OUTPUT_TOKENS, compare
from vidcarbon.carbon.accounting import operational_g

PAPER_SCENARIO = (defaults.COMPARISON_SCENARIO, defaults.COMPARISON_INTENSITY_G_PER_KWH)
PAPER_PUE = defaults.PUE

KWH = 3.6e6  # J


def tables():
    llm = pd.DataFrame(
        {
            "llm": ["a", "a", "a", "b"],
            "dataset": ["gsm8k", "gsm8k", "mmlu", "gsm8k"],
            "status": ["ok", "ok", "failed", "ok"],
            "energy_j": [0.1 * KWH, 0.3 * KWH, None, 1.0 * KWH],
            "output_tokens": [10, 10, 16, 100],
            "duration_s": [1.0, 3.0, None, 2.0],
            "prefill_energy_j": [0.01 * KWH, 0.03 * KWH, None, 0.01 * KWH],
            "decode_energy_j": [0.09 * KWH, 0.27 * KWH, None, 0.99 * KWH],
        }
    )
    runs = pd.DataFrame(
        {
            "model": ["v", "v", "v"],
            "resolution": ["240p", "240p", "240p"],
            "frames": [16, 16, 16],
            "steps": [8, 8, 8],
            "status": ["ok", "ok", "oom"],
            "energy_j": [1.6 * KWH, 2.4 * KWH, None],
            "generation_duration_s": [10.0, 30.0, None],
        }
    )
    images = pd.DataFrame(
        {
            "model": ["i"],
            "resolution": ["240p"],
            "steps": [8],
            "status": ["ok"],
            "energy_j": [0.5 * KWH],
            "generation_duration_s": [5.0],
        }
    )
    return runs, llm, images


def test_carbon_is_kwh_times_pue_times_intensity():
    assert operational_g(KWH, 100.0, 1.2) == pytest.approx(120.0)
    assert PAPER_SCENARIO == ("paper-100g", 100.0) and PAPER_PUE == 1.2  # the paper's RQ2


def test_per_request_per_unit_and_ratios():
    runs, llm, images = tables()
    table = compare(runs, llm, images, [PAPER_SCENARIO, ("coal", 820.0)], PAPER_PUE, "a")
    paper = table[table.scenario == "paper-100g"].set_index(["modality", "model", "group"])
    assert len(table) == 2 * len(paper)

    text = paper.loc[("text", "a", "all")]
    assert text.requests == 2  # the failed mmlu request is left out
    assert text.energy_per_request_j == pytest.approx(0.2 * KWH)
    assert text.energy_per_unit_j == pytest.approx(0.02 * KWH)
    assert text.carbon_per_request_g == pytest.approx(0.2 * 1.2 * 100)
    assert text.carbon_per_unit_g == pytest.approx(0.02 * 1.2 * 100)
    assert text.duration_per_request_s == pytest.approx(2.0)

    video = paper.loc[("video", "v", "240p_f16_s8")]
    assert video.unit == "frame" and video.requests == 2 and video.units_per_request == 16
    assert video.energy_per_request_j == pytest.approx(2.0 * KWH)
    assert video.energy_per_unit_j == pytest.approx(2.0 / 16 * KWH)
    assert video.request_ratio_vs_text == pytest.approx(10.0)  # 2.0 / 0.2 kWh
    assert video.unit_ratio_vs_text == pytest.approx(6.25)  # 0.125 / 0.02 kWh

    image = paper.loc[("image", "i", "240p_s8")]
    assert image.unit == "image" and image.energy_per_unit_j == image.energy_per_request_j
    assert image.request_ratio_vs_text == pytest.approx(2.5)

    other = paper.loc[("text", "b", "all")]
    assert other.request_ratio_vs_text == pytest.approx(5.0) and other.reference_text == "a"

    coal = table[table.scenario == "coal"].set_index(["modality", "model", "group"])
    assert coal.loc[("video", "v", "240p_f16_s8")].carbon_per_request_g == pytest.approx(
        2.0 * 1.2 * 820
    )
    # ratios are energy ratios: the same under every scenario
    assert (coal.request_ratio_vs_text == paper.request_ratio_vs_text).all()


def test_per_unit_averages_each_requests_ratio():
    runs, llm, images = tables()
    llm.loc[1, "output_tokens"] = 30  # 0.3 kWh / 30 tokens = 0.01; 0.1 / 10 = 0.01
    row = compare(runs, llm, images, [PAPER_SCENARIO], 1.0, "a").set_index("group").loc["gsm8k"]
    row = row[row.model == "a"].iloc[0]
    assert row.energy_per_unit_j == pytest.approx(0.01 * KWH)
    assert row.units_per_request == 20


def test_unknown_reference_llm_is_an_error():
    runs, llm, images = tables()
    with pytest.raises(ValueError, match="reference_llm 'c' has no successful request"):
        compare(runs, llm, images, [PAPER_SCENARIO], 1.2, "c")


def test_comparison_scenarios_add_the_carbon_ones_once():
    from vidcarbon.analysis.video_vs_text import comparison_scenarios

    carbon = [
        {"name": "wind", "intensity_g_per_kwh": 11.0},
        {"name": "paper-100g", "intensity_g_per_kwh": 999.0},
    ]
    assert comparison_scenarios({"paper-100g": 100}, carbon) == [
        ("paper-100g", 100.0),
        ("wind", 11.0),
    ]


def test_ratios_at_the_papers_answer_length_beside_the_measured_ones():
    assert PAPER_OUTPUT_TOKENS == 208  # 6 x n / 16 = 78
    runs, llm, images = tables()
    paper = compare(runs, llm, images, [PAPER_SCENARIO], PAPER_PUE, "a").set_index(
        ["modality", "model", "group"]
    )
    video = paper.loc[("video", "v", "240p_f16_s8")]
    assert video.reference_output_tokens == 10 and video.paper_output_tokens == 208
    # reference "a": prefill 0.02 kWh on average; decode 0.09 and 0.27 kWh over 9 tokens each
    at_208 = 0.02 * KWH + 207 * (0.09 / 9 + 0.27 / 9) / 2 * KWH
    assert video.reference_energy_at_paper_tokens_j == pytest.approx(at_208)
    assert video.request_ratio_at_paper_tokens == pytest.approx(2.0 * KWH / at_208)
    assert video.unit_ratio_at_paper_tokens == pytest.approx(2.0 / 16 * KWH / (at_208 / 208))
    # 10-token answers make video look ~21x dearer per request than 208-token ones would;
    # per token the cost barely moves (here the prefill costs exactly one decode token)
    assert video.request_ratio_vs_text / video.request_ratio_at_paper_tokens == pytest.approx(
        at_208 / (0.2 * KWH)
    )
    assert video.unit_ratio_at_paper_tokens == pytest.approx(video.unit_ratio_vs_text)
