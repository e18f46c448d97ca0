"""Charts render to valid HTML and PNG files from small hand-built tables."""

import itertools
import json

import altair as alt
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


def headless_dom(page) -> str:
    """The DOM of `page` after its scripts ran, in headless Chromium with every network
    request sent to a closed port (offline)."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here (.ci/run installs it: apt-get install chromium)")
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"]
        + ["--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout


def test_an_html_chart_draws_without_network(tmp_path):
    chart = alt.Chart(alt.Data(values=[{"x": 1, "y": 2}])).mark_bar().encode(x="x:Q", y="y:Q")
    html, _ = render.save(chart, tmp_path / "chart")
    text = html.read_text()
    assert "<script src=" not in text and "cdn.jsdelivr" not in text  # the libraries inline
    assert 'class="marks"' in headless_dom(html)  # vega-embed drew it, offline


def test_phase_shares_add_up_and_denoising_grows_with_steps(tmp_path):
    runs = runs_table()
    shares = phases.phase_shares(runs, "240p", 16)
    assert np.allclose(shares.groupby("steps").share.sum(), 1.0)
    denoise = shares[shares.phase == "denoise"].set_index("steps").share
    assert denoise.is_monotonic_increasing
    _, text = saved(phases.phase_share_chart(runs), tmp_path)
    assert '"bar"' in text and "denoising share" in text


def law_tables(pixels_exp=1.5, resolutions=("144p", "240p", "360p"), status="ok"):
    """runs and carbon rows (scenario gas) of energy = k x steps x pixels^pixels_exp x frames."""
    runs = runs_table(resolutions=resolutions, frames=(8, 16, 32), steps=(4, 8, 16))
    runs["energy_j"] = 1e-7 * runs.steps * (runs.height * runs.width) ** pixels_exp * runs.frames
    runs = runs.assign(
        model="m",
        fps=8,
        status=status,
        prompt_id="p",
        generation_duration_s=runs.energy_j / 300,
    )
    carbon = runs.assign(
        scenario="gas",
        intensity_g_per_kwh=490.0,
        pue=1.2,
        lifetime_years=5.0,
        utilisation=1.0,
        unit_embodied_g=26_000.0,
        embodied_share=1.0,
        total_g=runs.energy_j * 1.2 * 490 / 3.6e6  # Eq. 1: operational + embodied
        + runs.generation_duration_s * 26_000.0 / (5 * 365 * 24 * 3600),
    )
    return runs, carbon


def test_resolution_chart_draws_the_law_through_the_cells_it_names(tmp_path):
    runs, carbon = law_tables(pixels_exp=1.5)
    spec, text = saved(scaling.resolution_chart(runs, carbon, "gas", "240p"), tmp_path)
    assert "energy ~ pixels^1.50 (95 % CI 1.50 .. 1.50)" in text
    assert "cells shown: 16 steps, 16 frames (2 s at 8 fps)" in text
    dots = next(d for d in spec["datasets"].values() if d and "relative" in d[0])
    relative = {d["resolution"]: d["relative"] for d in dots}
    assert relative["240p"] == pytest.approx(1.0, rel=1e-3)  # normalised to 240p
    assert relative["360p"] == pytest.approx((360 * 640 / (240 * 426)) ** 1.5, rel=1e-3)
    assert {d["steps"] for d in dots} == {16} and {d["frames"] for d in dots} == {16}


def test_duration_chart_draws_the_law_through_the_cells_it_names(tmp_path):
    runs, carbon = law_tables(resolutions=("144p", "240p"))
    _, text = saved(scaling.duration_chart(runs, carbon, "gas", "240p"), tmp_path)
    assert "energy ~ frames^1.00" in text and "cells shown: 16 steps, 240p (240x426)" in text
    assert "video duration (s)" in text and "carbon per video (g CO2e)" in text


def test_charts_say_no_data_or_skip_the_fit_instead_of_failing(tmp_path):
    _, text = saved(scaling.resolution_chart(*law_tables(resolutions=("240p",)), "gas"), tmp_path)
    assert "one resolution measured: no law of pixels" in text
    runs, carbon = law_tables(status="oom")
    for chart in (
        phases.phase_share_chart(runs),
        scaling.resolution_chart(runs, carbon, "gas"),
        scaling.duration_chart(runs, carbon, "gas"),
        power.trace_chart(pd.DataFrame(columns=["t_s", "component", "power_w", "phase"]), "t"),
    ):
        _, text = saved(chart, tmp_path, "empty")
        assert "no data" in text


def test_power_statistics_of_a_known_trace(tmp_path):
    t = np.arange(0, 3.0, 0.1)
    watts = np.where(t < 1.0, 100.0, 300.0)  # a 200 W step between two samples 0.1 s apart
    trace = pd.DataFrame(
        {
            "t_s": t,
            "component": "gpu",
            "power_w": watts,
            "phase": np.where(t < 1.0, "encode", "denoise"),
        }
    )
    stats = power.phase_statistics(trace, {"gpu": 60.0}, {"gpu": "counter"}).set_index("phase")
    assert stats.loc["encode", "mean_power_w"] == pytest.approx(100.0)
    assert stats.loc["denoise", "peak_power_w"] == pytest.approx(300.0)
    # on the 1 s mean the step is a 200 W rise over 1 s, not 2,000 W/s between two samples
    assert stats.loc["denoise", "max_ramp_w_per_s"] == pytest.approx(200.0)
    assert stats.loc["denoise", "idle_to_peak_w"] == pytest.approx(240.0)
    # an estimated component's power is not a reading: no ramp
    estimated = power.phase_statistics(trace, {}, {"gpu": "estimated"})
    assert estimated.max_ramp_w_per_s.isna().all()
    spec, text = saved(power.trace_chart(trace, "known trace", {"gpu": "estimated"}), tmp_path)
    assert '"rect"' in text and '"line"' in text and "gpu (estimated)" in text
    # phases and components each keep their own legend
    assert spec["resolve"]["scale"]["color"] == "independent"
    _, text = saved(power.statistics_chart(estimated, "stats"), tmp_path, "stats")
    assert "n/a: estimated" in text and "max ramp of the 1 s mean (W/s)" in text


def test_a_long_trace_is_drawn_as_bin_means_and_says_so(tmp_path):
    # an hour of GPU and CPU samples at 0.05 s: 144,000 rows, far over Altair's 5,000
    t = np.arange(0, 3600.0, 0.05)
    phase = np.where(t < 60.0, "encode", np.where(t < 3300.0, "denoise", "decode"))
    trace = pd.concat(
        [
            pd.DataFrame({"t_s": t, "component": c, "power_w": w, "phase": phase})
            for c, w in (("gpu", 300.0 + 10 * np.sin(t)), ("cpu", 50.0 + 0 * t))
        ],
        ignore_index=True,
    )
    line, bin_s = power.thin_trace(trace)
    assert bin_s == pytest.approx(3600.0 * 2 / power.MAX_TRACE_POINTS, rel=1e-3)
    assert len(line) <= power.MAX_TRACE_POINTS + 2 * 3  # bins, split at phase boundaries
    # bin means keep the level of each component and never mix phases
    assert line[line.component == "cpu"].power_w.to_numpy() == pytest.approx(50.0)
    assert line[line.component == "gpu"].power_w.mean() == pytest.approx(300.0, abs=0.5)
    assert (line[line.t_s >= 3300.0].phase == "decode").all()
    title = alt.TitleParams("Power", subtitle="one cell")
    spec, text = saved(power.trace_chart(trace, title), tmp_path)
    assert "samples thinned to" in text and "144,000" in text and "one cell" in text
    short = trace[trace.t_s < 10.0]
    assert power.thin_trace(short)[1] is None and "thinned" not in json.dumps(
        power.trace_chart(short, "t").to_dict()
    )


def carbon_table(embodied_g=(("act", 1e-5),)):
    """Two cells (144p, 240p) under wind, gas and coal; one row per embodied source."""
    rows = []
    for source, intensity in (("wind", 11.0), ("gas", 490.0), ("coal", 820.0)):
        for (resolution, energy_j), (embodied_source, embodied) in itertools.product(
            (("144p", 10.0), ("240p", 30.0)), embodied_g
        ):
            operational = energy_j / 3.6e6 * 1.2 * intensity
            rows.append(
                {
                    "embodied_source": embodied_source,
                    "embodied_default": embodied_source == "act",
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
                    "embodied_g": embodied,
                    "total_g": operational + embodied,
                    "embodied_device": "a100-80gb",
                    "embodied_scope": "gpu",
                }
            )
    return pd.DataFrame(rows)


def test_source_chart_stacks_and_labels_the_embodied_share(tmp_path):
    from vidcarbon.analysis import sources

    table, label = sources.by_source(carbon_table(), "240p")
    assert list(table.scenario) == ["wind", "gas", "coal"]  # ordered by intensity
    assert label == "m, 240p, 16 frames, 8 steps, one cell"  # no cell_id: one row per scenario
    wind = table.set_index("scenario").loc["wind"]
    assert wind.embodied_share == pytest.approx(1e-5 / wind.total_g)
    spec, text = saved(sources.source_chart(carbon_table()), tmp_path)
    assert '"bar"' in text and "embodied share" in text
    empty = carbon_table().assign(scenario_kind="number")
    assert "no data" in json.dumps(sources.source_chart(empty).to_dict())


def test_source_chart_has_one_bar_per_embodied_source(tmp_path):
    from vidcarbon.analysis import sources

    carbon = carbon_table((("act", 1e-5), ("x23", 1.2e-4), ("y24", 5e-5)))
    table, label = sources.by_source(carbon, "240p")
    assert label == "m, 240p, 16 frames, 8 steps, one cell"  # one row per scenario and source
    assert len(table) == 3 * 3 and set(table.embodied_source) == {"act", "x23", "y24"}
    wind = table[table.scenario == "wind"].set_index("embodied_source")
    assert (
        wind.loc["x23"].embodied_share
        > wind.loc["y24"].embodied_share
        > wind.loc["act"].embodied_share
    )
    a100 = [
        {"device": "a100-80gb", "source": "act", "embodied_g": 26_000.0},
        {"device": "a100-80gb", "source": "chien", "embodied_g": 318_000.0},
    ]
    chart = sources.source_chart(carbon, "240p", a100)
    spec = chart.to_dict()
    measured, paper = spec["vconcat"]
    for panel, names in ((measured, ["act", "y24", "x23"]), (paper, ["act", "chien"])):
        bars = panel["layer"][0]
        assert bars["encoding"]["xOffset"]["field"] == "embodied_source"
        assert bars["encoding"]["xOffset"]["sort"] == names  # ACT first, then by size
        rows = spec["datasets"][(bars.get("data") or panel["data"])["name"]]
        embodied = [
            (r["scenario"], r["embodied_source"])
            for r in rows
            if r.get("part", "embodied_g") == "embodied_g"
        ]
        assert len(embodied) == len(set(embodied)) == 3 * len(names)  # one bar each
    # at the paper's setting (250 W, PUE 1.2, 5 y) under wind: ACT's 26 kg is 15 % of the
    # carbon, Chien et al.'s 318 kg 69 %
    paper_table = sources.paper_by_source(
        table[["scenario", "intensity_g_per_kwh"]].drop_duplicates(), a100
    )
    wind = paper_table[paper_table.scenario == "wind"].set_index("embodied_source").embodied_share
    assert wind["act"] == pytest.approx(0.152, abs=0.001) and wind["chien"] == pytest.approx(
        0.688, abs=0.001
    )
    _, text = saved(chart, tmp_path)
    assert "modelled" in text and "embodied: x23" in text and "50 % line" in text


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
                "carbon_ratio": c / 10,
                "intensity_g_per_kwh": 300.0,
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
                    "intensity_g_per_kwh": intensity,
                    "pue": 1.2,
                }
            )
    return pd.DataFrame(rows)


def test_video_vs_text_chart(tmp_path):
    from vidcarbon.analysis.comparison import request_and_unit_chart

    spec, text = saved(request_and_unit_chart(comparison_table(), "paper-100g"), tmp_path)
    points = {d["label"]: d for d in next(iter(spec["datasets"].values()))}
    # every text group shows its mean answer length, and the reference at the paper's 208
    assert {"text: llm all (50 tokens)", "text: llm gsm8k (128 tokens)"} <= set(points)
    at_208 = points["text: llm at the paper's answer length (estimate) (208 tokens)"]
    reference = points["text: llm all (50 tokens)"]
    assert at_208["carbon_per_request_g"] == pytest.approx(4 * reference["carbon_per_request_g"])
    assert "video: vid 240p_f16_s8" in points  # video labels carry no token count
    assert '"type": "log"' in text and "operational carbon at 100 g/kWh, PUE 1.2" in text
    assert "no data" in json.dumps(request_and_unit_chart(None, "paper-100g").to_dict())


def test_video_vs_text_shows_the_spread_of_a_large_grid():
    from vidcarbon.analysis.comparison import MAX_VIDEO_SHAPES, video_spread

    video = pd.DataFrame(
        {"modality": "video", "model": "vid", "group": [f"s{i}" for i in range(101)]}
    ).assign(carbon_per_request_g=lambda d: np.arange(101.0)[::-1])
    text = pd.DataFrame([{"modality": "text", "model": "llm", "group": "all"}])
    rows, words = video_spread(pd.concat([text, video], ignore_index=True))
    shown = rows[rows.modality == "video"].carbon_per_request_g
    # the cheapest, the costliest and the quantiles; text rows untouched
    assert sorted(shown) == [0, 10, 25, 50, 75, 90, 100]
    assert (rows.modality == "text").sum() == 1
    assert "of 101 measured shapes" in words and "quantiles" in words
    small = video.iloc[:MAX_VIDEO_SHAPES]
    rows, words = video_spread(small)
    assert len(rows) == MAX_VIDEO_SHAPES and words.startswith("video: every measured shape")


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
                "unit": u,
                "status": "ok",
            }
            for s in (4, 8)
            for m, u, v, p in (
                ("sharpness", "grey_level2", 10.0 * s, None),
                ("noise", "grey_level", 3.0, None),
                ("imaging_quality", "score", 0.5, False),
            )
        ]
    )
    spec, text = saved(steps_chart(carbon, quality, "gas", "240p", ("m",)), tmp_path)
    assert "sharpness" in text and "imaging_quality" not in text
    panels = {d["panel"] for d in spec["datasets"].values() for d in d if "panel" in d}
    assert panels == {
        "sharpness (grey_level2)|higher is sharper (noise raises it too)",
        "noise (grey_level)|lower is better",
    }
    assert "random-weight models (m): their quality scores carry no quality meaning" in text
    _, pretrained = saved(steps_chart(carbon, quality, "gas", "240p", ()), tmp_path, "p")
    assert "random-weight" not in pretrained
    assert "no data" in json.dumps(steps_chart(carbon, quality, "peat", "240p").to_dict())


def test_mean_power_against_video_length(tmp_path):
    from vidcarbon.analysis import power

    runs = runs_table().assign(generation_duration_s=lambda d: d.energy_j / 250.0)
    spec, text = saved(power.mean_power_chart(runs), tmp_path)
    values = next(iter(spec["datasets"].values()))
    assert {round(v["mean_power_w"], 6) for v in values} == {250.0}
    assert "no data" in json.dumps(power.mean_power_chart(runs.assign(status="failed")).to_dict())


def test_a_chart_job_reads_only_the_inputs_it_declares(tmp_path):
    """Each chart is its own job (`chart_<name>`): it draws from the files its CHART_SPECS
    entry names, writes only its own two files, and a missing declared input fails it alone."""
    from vidcarbon.analysis.chart_specs import CHART_SPECS
    from vidcarbon.analysis.charts import render_chart
    from vidcarbon.tables import provenance, write_table

    runs = runs_table().assign(
        run_id=lambda d: [f"r{i}" for i in range(len(d))],
        model="m",
        prompt_id="p",
        seed=0,
        lever="baseline",
        gpus=1,
        ulysses_degree=1,
        ring_degree=1,
        cell_id=lambda d: [
            f"m/p/{r}_f{f}_s{s}_seed0_baseline"
            for r, f, s in zip(d.resolution, d.frames, d.steps, strict=True)
        ],
    )
    path = tmp_path / "runs.parquet"
    write_table("runs", runs.to_dict("records"), path, provenance("test", [], []))
    assert CHART_SPECS["rq3_phase_shares"].inputs == ("runs",)
    render_chart("rq3_phase_shares", {"runs": str(path)}, {}, tmp_path / "charts" / "rq3.png")
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["rq3.html", "rq3.png"]
    with pytest.raises(KeyError, match="carbon"):
        render_chart(
            "rq1_energy_sources",
            {"runs": str(path)},
            {"reference_resolution": "240p", "rq1_sources": []},
            tmp_path / "charts" / "rq1.png",
        )
    # without a text or image baseline the video-vs-text chart says so instead of failing
    render_chart("rq2_video_vs_text", {}, {"comparison_scenario": "paper-100g"}, tmp_path / "rq2")
    assert (tmp_path / "rq2.png").stat().st_size > 1000


def test_every_chart_spec_has_a_drawing_that_takes_exactly_its_settings():
    """The workflow plans chart jobs from chart_specs (which imports no plotting library);
    each spec's settings are the keyword arguments its drawing in charts.DRAW takes."""
    import inspect

    from vidcarbon.analysis.chart_specs import CHART_SPECS
    from vidcarbon.analysis.charts import DRAW

    assert DRAW.keys() == CHART_SPECS.keys()
    for name, spec in CHART_SPECS.items():
        _inputs, *settings = inspect.signature(DRAW[name]).parameters
        assert tuple(settings) == spec.params, name
