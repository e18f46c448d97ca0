"""The parallel table, its halving metric, findings, laws per layout and chart, from runs and
carbon tables written as Parquet and read back."""

import json
import re
import subprocess
import sys
from dataclasses import asdict

import pandas as pd
import pytest
from PIL import Image

from tests.conftest import REPO
from vidcarbon.analysis import render
from vidcarbon.analysis.findings import layout_law_rows, layout_laws_markdown
from vidcarbon.analysis.parallel import (
    parallel_chart,
    parallel_findings,
    parallel_markdown,
    per_halving,
    write_parallel,
)
from vidcarbon.grid import Cell
from vidcarbon.tables import CELL_KEY_NAMES, SCHEMAS, provenance, read_table, write_table

SCENARIOS = {"gas": 490.0, "wind": 11.0}
G_PER_J = 1e-3  # operational carbon per joule, at gas (wind: scaled by the intensity)
EMBODIED_G_PER_S = 0.01  # per second and GPU


def cell(steps=16, ulysses=1, ring=1, prompt="p0123456789"):
    return Cell("wan", prompt, "240p", 17, steps, 0, ulysses=ulysses, ring=ring)


def keys(c: Cell) -> dict:
    return dict(
        zip(
            CELL_KEY_NAMES,
            (c.cell_id, c.model, c.prompt, c.resolution, c.frames, c.steps, c.seed, c.lever)
            + (c.gpus, c.ulysses, c.ring),
            strict=True,
        )
    )


def write_tables(tmp_path, measured):
    """runs.parquet and carbon.parquet of `measured`: (cell, latency s, energy J, status,
    failed rank); denoising takes 80 % of a video's time and energy, decoding 20 %, encoding
    1 s and 50 J (a one-device job, left out of the table)."""
    runs, carbon = [], []
    for i, (c, latency, energy, status, failed_rank) in enumerate(measured):
        ok = status == "ok"
        phases = {
            phase: (share * latency, share * energy) if ok else (None, None)
            for phase, share in (("denoise", 0.8), ("decode", 0.2))
        }
        figures = {}
        for phase, (duration, joules) in phases.items():
            figures |= {
                f"{phase}_duration_s": duration,
                f"{phase}_energy_j": joules,
                f"{phase}_net_energy_j": None if joules is None else joules - 10 * duration,
            }
        runs.append(
            {
                "run_id": f"r{i}",
                **keys(c),
                "status": status,
                "error": None if ok else "rank 1: CUDA out of memory",
                "failed_rank": failed_rank,
                "hostname": "h",
                "device_name": "H200",
                "fps": 16,
                "height": 480,
                "width": 832,
                "encode_duration_s": 1.0,
                "encode_energy_j": 50.0,
                **figures,
                "generation_duration_s": latency + 1.0 if ok else None,
                "energy_j": energy + 50.0 if ok else None,
            }
        )
        for scenario, intensity in SCENARIOS.items():
            for source, default in (("act", True), ("other", False)):
                row = {
                    **keys(c),
                    "status": status,
                    "scenario": scenario,
                    "scenario_kind": "number",
                    "intensity_g_per_kwh": intensity,
                    "pue": 1.0,
                    "lifetime_years": 5.0,
                    "utilisation": 1.0,
                    "embodied_device": "H200",
                    "embodied_source": source,
                    "embodied_default": default,
                    "embodied_counts": "gpu",
                    "embodied_citation": "test",
                    "embodied_year": 2025,
                    "embodied_scope": "gpu",
                    "embodied_unit": "gpu",
                    "unit_embodied_g": 1.0,
                    "embodied_share": float(c.gpus),
                }
                for phase, (duration, joules) in phases.items():
                    if not ok:
                        continue
                    op = joules * G_PER_J * intensity / SCENARIOS["gas"]
                    emb = duration * c.gpus * EMBODIED_G_PER_S * (1 if default else 100)
                    row |= {
                        f"{phase}_operational_g": op,
                        f"{phase}_embodied_g": emb,
                        f"{phase}_carbon_g": op + emb,
                    }
                carbon.append(row)
    meta = provenance("test", ["h"], [])
    write_table("runs", runs, tmp_path / "runs.parquet", meta)
    write_table("carbon", carbon, tmp_path / "carbon.parquet", meta)


def as_findings(tmp_path, rows) -> pd.DataFrame:
    """Findings rows as the findings table holds them (written and read back)."""
    write_table("findings", rows, tmp_path / "findings.parquet", provenance("test", [], []))
    return read_table("findings", tmp_path / "findings.parquet").to_pandas()


def parallel_table(tmp_path, measured) -> pd.DataFrame:
    """The table as the rule writes it, read back."""
    write_tables(tmp_path, measured)
    out = tmp_path / "parallel.parquet"
    write_parallel(str(tmp_path / "runs.parquet"), str(tmp_path / "carbon.parquet"), out, "h")
    return read_table("parallel", out).to_pandas()


# 1 GPU: 10 s, 1000 J; 2 GPUs: half the latency at 1.25x the energy; 4 GPUs: a quarter at
# 1.25^2 (25 % per halving both); ring 2 on 2 GPUs: slower than one GPU.
ONE = (cell(), 10.0, 1000.0, "ok", None)
TWO = (cell(ulysses=2), 5.0, 1250.0, "ok", None)
FOUR = (cell(ulysses=4), 2.5, 1562.5, "ok", None)
SLOWER = (cell(ring=2), 11.0, 2100.0, "ok", None)
FAILED = (cell(ulysses=8), 0.0, 0.0, "failed", 1)


def test_the_halving_metric_on_known_numbers():
    assert per_halving(1.25, 2.0) == pytest.approx(0.25)  # one halving, +25 %
    assert per_halving(1.5625, 4.0) == pytest.approx(0.25)  # two halvings, +25 % each
    assert per_halving(2.0, 8.0) == pytest.approx(2 ** (1 / 3) - 1)  # 3 halvings double it
    assert per_halving(0.9, 2.0) == pytest.approx(-0.1)  # cheaper and faster
    assert per_halving(1.2, 1.0) is None and per_halving(0.5, 0.9) is None


def test_each_parallel_cell_and_scenario_beside_its_one_device_cell(tmp_path):
    table = parallel_table(tmp_path, [ONE, TWO, FOUR])
    assert table.columns.tolist() == SCHEMAS["parallel"].names  # the schema round trip
    assert len(table) == 2 * 2  # two parallel cells x two scenarios; the headline source only
    two = table[(table.gpus == 2) & (table.scenario == "gas")].iloc[0]
    assert two.one_device_cell_id == ONE[0].cell_id and two.status == "ok"
    assert (two.latency_s, two.one_device_latency_s) == (5.0, 10.0)  # encoding left out
    assert (two.energy_j, two.one_device_energy_j) == (1250.0, 1000.0)
    assert two.net_energy_j == pytest.approx(1250 - 10 * 5) and pd.isna(two.failed_rank)
    assert two.speedup == 2.0 and two.energy_ratio == 1.25
    assert two.energy_per_latency_halving == pytest.approx(0.25)
    # carbon of the headline source (ACT's): 2 GPUs' embodied share for half the time
    assert two.embodied_g == pytest.approx(5 * 2 * EMBODIED_G_PER_S)
    assert two.one_device_embodied_g == pytest.approx(10 * EMBODIED_G_PER_S)
    assert two.carbon_g == pytest.approx(1.25 + 0.1) and two.carbon_ratio == pytest.approx(
        1.35 / 1.1
    )
    assert two.carbon_per_latency_halving == pytest.approx(1.35 / 1.1 - 1)
    four = table[(table.gpus == 4) & (table.scenario == "wind")].iloc[0]
    assert four.speedup == 4.0 and four.energy_per_latency_halving == pytest.approx(0.25)
    assert four.operational_g == pytest.approx(1562.5 * G_PER_J * 11 / 490)


def test_a_latency_that_did_not_fall_has_no_halving_and_says_why(tmp_path):
    table = parallel_table(tmp_path, [ONE, SLOWER])
    row = table[table.scenario == "gas"].iloc[0]
    assert row.status == "ok" and row.speedup == pytest.approx(10 / 11)
    assert row.energy_ratio == pytest.approx(2.1)  # the figures are still there
    assert pd.isna(row.energy_per_latency_halving) and pd.isna(row.carbon_per_latency_halving)
    assert row.halving_missing_reason.startswith("latency did not fall: 11 s on 2 devices")
    (finding,) = parallel_findings(table, "gas")
    assert "value" not in finding and "one cell whose latency did not fall" in finding["detail"]
    # the chart says slower, not "0.91x faster"
    assert "1.1x slower" in json.dumps(parallel_chart(table, "gas").to_dict())


def test_a_failed_parallel_cell_is_a_row_with_its_status_and_failed_rank(tmp_path):
    table = parallel_table(tmp_path, [ONE, TWO, FAILED])
    failed = table[table.gpus == 8]
    assert len(failed) == 2  # one per scenario, not dropped
    assert set(failed.status) == {"parallel failed"} and set(failed.failed_rank) == {1}
    assert set(failed.error) == {"rank 1: CUDA out of memory"}
    assert failed.energy_j.isna().all() and failed.speedup.isna().all()
    assert set(failed.halving_missing_reason) == {"no figures: parallel failed"}
    by_gpus = {f["gpus"]: f for f in parallel_findings(table, "gas")}
    assert by_gpus[8]["detail"] == "no cell with a figure: one cell parallel failed"
    markdown = "\n".join(parallel_markdown(as_findings(tmp_path, list(by_gpus.values()))))
    assert "| wan | 8 GPUs (ulysses 8 x ring 1) |  |  |  | no cell with a figure" in markdown


def test_a_failed_one_device_cell_leaves_its_parallel_cells_without_figures(tmp_path):
    table = parallel_table(tmp_path, [(*ONE[:3], "oom", None), TWO])
    assert set(table.status) == {"one-device oom"} and table.energy_j.isna().all()


def test_findings_per_model_and_layout_say_one_cell_or_give_the_range(tmp_path):
    other = cell(prompt="p9876543210")
    table = parallel_table(
        tmp_path,
        [
            ONE,
            TWO,
            FOUR,
            (other, 10.0, 1000.0, "ok", None),
            (cell(ulysses=2, prompt=other.prompt), 5.0, 1440.0, "ok", None),
        ],
    )
    by_gpus = {f["gpus"]: f for f in parallel_findings(table, "gas")}
    four, two = by_gpus[4], by_gpus[2]
    assert four["value"] == pytest.approx(0.25) and four["n"] == 1 and "ci_low" not in four
    assert "speedup 4x, energy 1.56x the one-device cell's (one cell)" in four["detail"]
    assert two["value"] == pytest.approx((0.25 + 0.44) / 2) and two["n"] == 2
    assert (two["ci_low"], two["ci_high"]) == pytest.approx((0.25, 0.44))
    markdown = "\n".join(parallel_markdown(as_findings(tmp_path, [four, two])))
    assert "| wan | 4 GPUs (ulysses 4 x ring 1) | 25.0% | [no interval] | 1 |" in markdown
    assert "| wan | 2 GPUs (ulysses 2 x ring 1) | 34.5% | [25.0%, 44.0%] | 2 |" in markdown


def test_laws_are_fitted_per_layout_where_its_cells_vary(tmp_path):
    """Energy ~ steps on one GPU and on 2 (0.6 x the time); a layout with one cell has none."""
    measured = [
        (cell(steps=s, ulysses=u), t, e, "ok", None)
        for s in (8, 16, 32, 64)
        for u, t, e in ((1, s, 60.0 * s), (2, 0.6 * s, 66.0 * s**1.1))
    ] + [FOUR]
    write_tables(tmp_path, measured)
    runs = read_table("runs", tmp_path / "runs.parquet").to_pandas()
    rows = as_findings(tmp_path, [asdict(r) for r in layout_law_rows(runs)])
    assert set(rows.kind) == {"parallel_fit"} and set(rows.gpus) == {1, 2, 4}
    exponent = rows[(rows.phase == "denoise") & (rows.quantity == "energy_j")].set_index("gpus")
    assert exponent.value[1] == pytest.approx(1.0) and exponent.value[2] == pytest.approx(1.1)
    assert exponent.name[2] == "2 GPUs (ulysses 2 x ring 1): denoise energy_j: exponent of steps"
    assert exponent.n[1] == 4  # the one-device cells of the parallel cells' keys only
    (four,) = rows[rows.gpus == 4].itertuples()
    assert four.name == "4 GPUs (ulysses 4 x ring 1): no law" and four.n == 1
    assert four.detail.startswith("not fitted: its cell holds one value each")
    markdown = "\n".join(layout_laws_markdown(rows))
    assert "| wan | 2 GPUs (ulysses 2 x ring 1) | denoise | energy_j | 1.100 [1.100, 1.100]" in (
        markdown
    )
    assert "| wan | 4 GPUs (ulysses 4 x ring 1) | | | not fitted: its cell holds" in markdown


def test_the_chart_draws_latency_and_energy_against_gpus(tmp_path):
    table = parallel_table(tmp_path, [ONE, TWO, FOUR, FAILED])
    chart = parallel_chart(table, "gas")
    html, png = render.save(chart, tmp_path / "parallel")
    with Image.open(png) as image:
        image.verify()
    assert png.stat().st_size > 1000 and "vega" in html.read_text()
    text = json.dumps(chart.to_dict())
    assert "latency per video (s)" in text and "energy per video (J)" in text
    assert "2x faster" in text and "+56% (+25% per halving)" in text
    points = next(d for d in chart.to_dict()["datasets"].values() if d and "gpus" in d[0])
    assert sorted({p["gpus"] for p in points}) == [1, 2, 4]  # the failed 8-GPU cell: no point
    empty = parallel_chart(table[table.gpus == 8], "gas")
    assert "no parallel cell with figures (parallel failed)" in json.dumps(empty.to_dict())


@pytest.mark.parametrize("layouts", [False, True])
def test_the_table_chart_and_findings_input_are_planned_only_with_layouts(tmp_path, layouts):
    config = (REPO / "config" / "wan-random.yaml").read_text()
    if layouts:
        config += "parallel:\n  layouts: [{ulysses: 2}]\n"
    (tmp_path / "config.yaml").write_text(config)
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(tmp_path / "config.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    planned = re.findall(r"^rule (\w+):", dry, re.MULTILINE)
    findings_input = re.search(r"^rule findings:\n    input: (.*)$", dry, re.MULTILINE)[1]
    assert ("parallel" in planned) == layouts and ("chart_parallel" in planned) == layouts
    assert ("results/parallel.parquet" in findings_input) == layouts
    assert "chart_levers" in planned  # the other charts are planned either way
