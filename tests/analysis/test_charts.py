"""Charts render to valid HTML and PNG files from small hand-built tables."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vidcarbon.analysis import phases, power, render, scaling

RES = {"144p": (144, 256), "240p": (240, 426), "360p": (360, 640)}


def runs_table(resolutions=("144p", "240p", "360p"), frames=(8, 16), steps=(4, 8, 16)):
    """Energy = encode 1 J + denoise (steps x pixels^1.5 x frames) + decode (pixels x frames)."""
    rows = []
    for r in resolutions:
        h, w = RES[r]
        for f in frames:
            for s in steps:
                denoise = 1e-7 * s * (h * w) ** 1.5 * f
                decode = 1e-5 * h * w * f
                rows.append(
                    {
                        "resolution": r,
                        "height": h,
                        "width": w,
                        "frames": f,
                        "steps": s,
                        "video_duration_s": f / 8,
                        "status": "ok",
                        "encode_energy_j": 1.0,
                        "denoise_energy_j": denoise,
                        "decode_energy_j": decode,
                        "energy_j": 1.0 + denoise + decode,
                    }
                )
    return pd.DataFrame(rows)


def saved(chart, tmp_path, name="chart"):
    html, png = render.save(chart, tmp_path / name)
    with Image.open(png) as image:
        image.verify()
    spec = chart.to_dict()
    assert "vega" in html.read_text() and png.stat().st_size > 1000
    return spec, json.dumps(spec)


def test_phase_shares_add_up_and_denoising_grows_with_steps(tmp_path):
    runs = runs_table()
    shares = phases.phase_shares(runs, "240p", 16)
    assert np.allclose(shares.groupby("steps").share.sum(), 1.0)
    denoise = shares[shares.phase == "denoise"].set_index("steps").share
    assert denoise.is_monotonic_increasing
    _, text = saved(phases.phase_share_chart(runs), tmp_path)
    assert '"bar"' in text and "denoising share" in text


def test_resolution_fit_recovers_the_exponent_and_normalises(tmp_path):
    runs = runs_table(frames=(16,), steps=(8,))
    runs["energy_j"] = 3e-4 * (runs.height * runs.width) ** 1.5
    table, fit = scaling.resolution_scaling(runs, reference="240p")
    assert fit["pixels"].value == pytest.approx(1.5, abs=1e-6)
    assert table.set_index("resolution").relative["240p"] == pytest.approx(1.0)
    _, text = saved(scaling.resolution_chart(runs), tmp_path)
    assert "pixels^1.50" in text


def test_duration_fit_is_linear(tmp_path):
    runs = runs_table(resolutions=("144p",), frames=(8, 16, 32), steps=(8,))
    runs["energy_j"] = 5.0 + 2.0 * runs.video_duration_s
    _, fit = scaling.duration_scaling(runs)
    assert fit["video_duration_s"].value == pytest.approx(2.0)
    _, text = saved(scaling.duration_chart(runs), tmp_path)
    assert "2 J per second of video" in text
    carbon = runs.assign(total_g=runs.energy_j * 1e-4)
    _, text = saved(scaling.duration_chart(carbon, "total_g", " (gas)"), tmp_path, "carbon")
    assert "Carbon per video against duration (gas): 0.0002 g CO2e per second" in text


def test_charts_say_no_data_or_skip_the_fit_instead_of_failing(tmp_path):
    one_resolution = runs_table(resolutions=("240p",))
    _, text = saved(scaling.resolution_chart(one_resolution), tmp_path, "one")
    assert "too few resolutions to fit" in text
    failed = runs_table().assign(status="oom")
    for chart in (
        phases.phase_share_chart(failed),
        scaling.resolution_chart(failed),
        scaling.duration_chart(failed),
        power.trace_chart(pd.DataFrame(columns=["t_s", "component", "power_w", "phase"]), "t"),
    ):
        _, text = saved(chart, tmp_path, "empty")
        assert "no data" in text


def test_power_statistics_of_a_known_trace(tmp_path):
    t = np.arange(0, 2.0, 0.1)
    watts = np.where(t < 1.0, 100.0, 300.0)  # a 200 W step between two samples 0.1 s apart
    trace = pd.DataFrame(
        {
            "t_s": t,
            "component": "gpu",
            "power_w": watts,
            "phase": np.where(t < 1.0, "encode", "denoise"),
        }
    )
    stats = power.phase_statistics(trace, {"gpu": 60.0}).set_index("phase")
    assert stats.loc["encode", "mean_power_w"] == pytest.approx(100.0)
    assert stats.loc["denoise", "peak_power_w"] == pytest.approx(300.0)
    assert stats.loc["denoise", "max_ramp_w_per_s"] == pytest.approx(2000.0)
    assert stats.loc["denoise", "idle_to_peak_w"] == pytest.approx(240.0)
    _, text = saved(power.trace_chart(trace, "known trace"), tmp_path)
    assert '"rect"' in text and '"line"' in text


def carbon_table():
    rows = []
    for source, intensity in (("wind", 11.0), ("gas", 490.0), ("coal", 820.0)):
        for resolution, energy_j in (("144p", 10.0), ("240p", 30.0)):
            operational = energy_j / 3.6e6 * 1.2 * intensity
            rows.append(
                {
                    "model": "m",
                    "resolution": resolution,
                    "frames": 16,
                    "steps": 8,
                    "status": "ok",
                    "scenario": source,
                    "scenario_kind": "source",
                    "intensity_g_per_kwh": intensity,
                    "energy_j": energy_j,
                    "operational_g": operational,
                    "embodied_g": 1e-5,
                    "total_g": operational + 1e-5,
                    "embodied_device": "a100-80gb",
                    "embodied_scope": "gpu",
                }
            )
    return pd.DataFrame(rows)


def test_source_chart_stacks_and_labels_the_embodied_share(tmp_path):
    from vidcarbon.analysis import sources

    table, label = sources.by_source(carbon_table(), "240p")
    assert list(table.scenario) == ["wind", "gas", "coal"]  # ordered by intensity
    assert "240p" in label
    wind = table.set_index("scenario").loc["wind"]
    assert wind.embodied_share == pytest.approx(1e-5 / wind.total_g)
    spec, text = saved(sources.source_chart(carbon_table()), tmp_path)
    assert '"bar"' in text and "embodied share" in text
    empty = carbon_table().assign(scenario_kind="number")
    assert "no data" in json.dumps(sources.source_chart(empty).to_dict())


def test_embodied_claims_from_the_carbon_table():
    from vidcarbon.analysis.findings import carbon_claims

    claims = {c.name: c for c in carbon_claims(carbon_table())}
    wind = claims["embodied << operational under wind: operational / embodied"]
    assert wind.verdict == "holds" and wind.value > 1
    no_gas = carbon_table().query("scenario != 'gas'")
    gas = {c.name: c for c in carbon_claims(no_gas)}[
        "embodied << operational under gas: operational / embodied"
    ]
    assert gas.verdict == "not measured"


def test_credit_and_time_charts(tmp_path):
    from vidcarbon.analysis import carbon_time

    credits = pd.DataFrame(
        [
            {
                "model": "m",
                "resolution": r,
                "frames": 16,
                "steps": s,
                "reference": "240p f16 s16",
                "credits": c,
                "low_intensity_credits": 0.8 * c,
            }
            for r, s, c in (("144p", 8, 1.0), ("240p", 8, 5.0), ("240p", 16, 10.0))
        ]
    )
    _, text = saved(carbon_time.credits_chart(credits), tmp_path, "credits")
    assert "low-intensity hours" in text and "reference 240p f16 s16 costs 10" in text
    assert "no data" in json.dumps(
        carbon_time.credits_chart(credits.assign(credits=None)).to_dict()
    )
    by_time = pd.DataFrame(
        [
            {
                "scenario": "grid",
                "cell_id": "c",
                "period_kind": kind,
                "period": p,
                "total_g": 1.0 + p / 10,
            }
            for kind, periods in (("hour_of_day", range(24)), ("month", range(1, 13)))
            for p in periods
        ]
    )
    deferral = pd.DataFrame(
        [
            {
                "scenario": "grid",
                "cell_id": "c",
                "deadline_h": d,
                "saving_fraction": d / 100,
                "mean_delay_h": d / 2,
            }
            for d in (4, 24)
        ]
    )
    _, text = saved(carbon_time.time_chart(by_time, deferral), tmp_path, "time")
    assert "by hour of day" in text and "offline generation" in text
    empty = by_time.iloc[0:0]
    assert "no data" in json.dumps(carbon_time.time_chart(empty, deferral).to_dict())


def test_trace_shading_keeps_each_jobs_phases_apart():
    from vidcarbon.analysis import power

    trace = pd.DataFrame(
        {
            "job_id": ["enc"] * 3 + ["gen"] * 3,
            "t_s": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
            "component": "cpu",
            "power_w": 5.0,
            "phase": ["load", "encode", "encode", "load", "denoise", "denoise"],
        }
    )
    spec = power.trace_chart(trace, "t").to_dict()
    rects = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")
    data = spec["datasets"][rects["data"]["name"]]
    loads = sorted((d["start_s"], d["end_s"]) for d in data if d["phase"] == "load")
    assert loads == [(0.0, 0.0), (0.3, 0.3)]  # two load windows, not one span over encode


def comparison_table():
    rows = []
    for modality, model, group, unit, units, per_request, per_unit, r_req, r_unit in (
        ("text", "llm", "all", "token", 50.0, 0.2, 0.004, 1.0, 1.0),
        ("text", "llm", "gsm8k", "token", 128.0, 0.4, 0.003, 2.0, 0.8),
        ("video", "vid", "240p_f16_s8", "frame", 16.0, 30.0, 2.0, 150.0, 500.0),
        ("video", "vid", "240p_f16_s16", "frame", 16.0, 60.0, 4.0, 300.0, 1000.0),
    ):
        for scenario, intensity in (("paper-100g", 100.0), ("wind", 11.0)):
            factor = 1.2 * intensity / 3.6e6
            rows.append(
                {
                    "modality": modality,
                    "model": model,
                    "group": group,
                    "unit": unit,
                    "scenario": scenario,
                    "carbon_per_request_g": per_request * factor,
                    "carbon_per_unit_g": per_unit * factor,
                    "request_ratio_vs_text": r_req,
                    "unit_ratio_vs_text": r_unit,
                    "reference_text": "llm",
                    "units_per_request": units,
                    "energy_per_request_j": per_request,
                    "reference_output_tokens": 50.0,
                    "paper_output_tokens": 208.0,
                    "reference_energy_at_paper_tokens_j": 0.8,  # 4x the 50-token answers
                    "request_ratio_at_paper_tokens": per_request / 0.8,
                    "unit_ratio_at_paper_tokens": per_unit / (0.8 / 208),
                }
            )
    return pd.DataFrame(rows)


def test_video_vs_text_chart_and_claims(tmp_path):
    from vidcarbon.analysis.comparison import request_and_unit_chart
    from vidcarbon.analysis.findings import comparison_claims

    spec, text = saved(request_and_unit_chart(comparison_table(), "paper-100g"), tmp_path)
    points = {d["label"]: d for d in next(iter(spec["datasets"].values()))}
    # every text group shows its mean answer length, and the reference at the paper's 208
    assert {"text: llm all (50 tokens)", "text: llm gsm8k (128 tokens)"} <= set(points)
    at_208 = points["text: llm at the paper's answer length (estimate) (208 tokens)"]
    reference = points["text: llm all (50 tokens)"]
    assert at_208["carbon_per_request_g"] == pytest.approx(4 * reference["carbon_per_request_g"])
    assert "video: vid 240p_f16_s8" in points  # video labels carry no token count
    assert '"type": "log"' in text
    assert "no data" in json.dumps(request_and_unit_chart(None, "paper-100g").to_dict())
    claims = {c.name.split(":")[0]: c for c in comparison_claims(comparison_table())}
    assert claims["video >> text per request"].value == 300.0  # the most steps at 240p, 2 s
    assert claims["video >> text per unit"].verdict == "holds"
    text_only = comparison_table().query("modality == 'text'")
    assert {c.verdict for c in comparison_claims(text_only)} == {"not measured"}


def test_steps_chart_never_plots_placeholder_weights(tmp_path):
    from vidcarbon.analysis.comparison import steps_chart

    carbon = carbon_table().assign(scenario_kind="source", cell_id=lambda d: d.resolution)
    carbon = pd.concat(
        [carbon.assign(steps=s, cell_id=carbon.resolution + f"-{s}") for s in (4, 8)]
    )
    quality = pd.DataFrame(
        [
            {
                "cell_id": f"240p-{s}",
                "steps": s,
                "metric": m,
                "value": v,
                "pretrained": p,
                "status": "ok",
            }
            for s in (4, 8)
            for m, v, p in (("sharpness", 10.0 * s, None), ("imaging_quality", 0.5, False))
        ]
    )
    spec, text = saved(steps_chart(carbon, quality, "gas", "240p"), tmp_path)
    assert "sharpness" in text and "imaging_quality" not in text
    assert "no data" in json.dumps(steps_chart(carbon, quality, "peat", "240p").to_dict())


def test_mean_power_against_video_length(tmp_path):
    from vidcarbon.analysis import power

    runs = runs_table().assign(generation_duration_s=lambda d: d.energy_j / 250.0)
    spec, text = saved(power.mean_power_chart(runs), tmp_path)
    values = next(iter(spec["datasets"].values()))
    assert {round(v["mean_power_w"], 6) for v in values} == {250.0}
    assert "no data" in json.dumps(power.mean_power_chart(runs.assign(status="failed")).to_dict())
