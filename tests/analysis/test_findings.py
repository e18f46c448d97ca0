import pandas as pd
import pytest

from tests.analysis.test_charts import runs_table
from vidcarbon.analysis.findings import findings_rows, summary_markdown


def by_name(rows, model="m"):
    return {r["name"]: r for r in rows if r["model"] == model}


def paper_like_runs():
    """Energy = encode + steps x (pixels x frames) x k + decode, with the paper's 240p, 2 s,
    40-step cell present; encoding costs 0.6 of one step at 240p, 2 s."""
    runs = runs_table(resolutions=("144p", "240p", "360p"), frames=(8, 16), steps=(10, 20, 40))
    runs["model"] = "m"
    step_240_2s = 1e-6 * 240 * 426 * 16
    runs["denoise_energy_j"] = 1e-6 * runs.height * runs.width * runs.frames * runs.steps
    runs["encode_energy_j"] = 0.6 * step_240_2s
    runs["decode_energy_j"] = 0.01 * runs.denoise_energy_j / runs.steps
    runs["energy_j"] = runs.encode_energy_j + runs.denoise_energy_j + runs.decode_energy_j
    return runs


def test_fits_recover_the_exponents_of_the_denoising_law():
    rows = by_name(findings_rows(paper_like_runs()))
    for variable in ("steps", "pixels", "frames"):
        fit = rows[f"denoise_energy_j exponent of {variable}"]
        assert fit["value"] == pytest.approx(1.0, abs=1e-6) and fit["r2"] == pytest.approx(1.0)


def test_claims_hold_on_paper_like_data():
    rows = by_name(findings_rows(paper_like_runs()))
    share = rows["denoising share at 40 steps, 2 s 240p"]
    assert share["verdict"] == "holds" and share["value"] > 0.97
    ratio = rows["text encoding / one denoising step"]
    assert ratio["value"] == pytest.approx(0.6, rel=0.01) and ratio["verdict"] == "holds"
    assert rows["energy linear in steps (R² of a line, per shape)"]["verdict"] == "holds"
    assert rows["energy linear in duration: exponent of frames"]["verdict"] == "holds"


def test_claims_say_not_measured_when_the_grid_lacks_the_cells():
    runs = runs_table(resolutions=("144p",), frames=(8,), steps=(4, 8))
    runs["model"] = "m"
    rows = by_name(findings_rows(runs))
    for name in (
        "denoising share at 40 steps, 2 s 240p",
        "text encoding / one denoising step",
        "energy linear in steps (R² of a line, per shape)",
        "energy near-quadratic in resolution: exponent of pixels",
        "energy linear in duration: exponent of frames",
    ):
        assert rows[name]["verdict"] == "not measured", name
    markdown = summary_markdown(pd.DataFrame(findings_rows(runs)))
    # the 5 run-level claims, and video vs text (no comparison table given)
    assert markdown.count("**not measured**") == 5 + 2


def test_a_claim_that_fails_is_reported_as_failing():
    runs = paper_like_runs()
    runs["encode_energy_j"] *= 10  # text encoding now costs 6 denoising steps
    runs["energy_j"] = runs.encode_energy_j + runs.denoise_energy_j + runs.decode_energy_j
    rows = by_name(findings_rows(runs))
    assert rows["text encoding / one denoising step"]["verdict"] == "does not hold"
