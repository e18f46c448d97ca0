"""Video vs image vs text (paper RQ2, Fig. 3): energy and operational carbon per request and
per output unit (frame, image, token), under each carbon-intensity scenario.

carbon_g = energy_j / 3.6e6 x pue x intensity_g_per_kwh (operational only; embodied carbon is
the carbon module's). The paper's point is 100 g/kWh with its PUE (`vidcarbon.defaults`).
Per unit follows the paper: each request's energy over its units, averaged over requests.

How long text answers are decides much of both ratios. The paper's two figures imply its
answer length: a 2 s 240p video (16 frames at the paper's 8 fps) costs 6x a text response,
so one frame costs 6 x n / 16 tokens' worth, and 6 x n / 16 = 78 gives n = 208 tokens per
answer (`PAPER_OUTPUT_TOKENS`). Beside the measured ratios, the table gives the reference text's
mean answer length and the ratios it would give at 208 tokens: its energy per answer
estimated as mean prefill energy + (208 - 1) x mean decode energy per generated token (the
first token comes from the prefill), an estimate linear in the answer length.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from vidcarbon import defaults
from vidcarbon.carbon.accounting import operational_g

log = logging.getLogger(__name__)

PAPER_FRAMES = 2 * defaults.FPS  # the paper's 2 s videos
PAPER_OUTPUT_TOKENS = 78 * PAPER_FRAMES / 6  # 6 x n / 16 = 78 -> n = 208


def comparison_scenarios(
    fixed: dict[str, float], carbon_scenarios: Sequence[dict]
) -> list[tuple[str, float]]:
    """`fixed` (e.g. the paper's 100 g/kWh), then every carbon scenario not named there."""
    scenarios = [(name, float(value)) for name, value in fixed.items()]
    scenarios += [
        (s["name"], float(s["intensity_g_per_kwh"]))
        for s in carbon_scenarios
        if s["name"] not in fixed
    ]
    return scenarios


def _summary(frame: pd.DataFrame, modality: str, model: str, group: str, unit: str, units, dur):
    per_unit = frame.energy_j / units
    return {
        "modality": modality,
        "model": model,
        "group": group,
        "unit": unit,
        "requests": len(frame),
        "units_per_request": float(units.mean()),
        "duration_per_request_s": float(dur.mean()),
        "energy_per_request_j": float(frame.energy_j.mean()),
        "energy_per_unit_j": float(per_unit.mean()),
    }


def energy_at_tokens(rows: pd.DataFrame, tokens: float) -> float | None:
    """Estimated energy of one answer of `tokens` tokens from measured requests: mean prefill
    energy + (tokens - 1) x mean decode energy per generated token after the first, joules."""
    longer = rows[rows.output_tokens > 1]
    if longer.empty:
        return None
    per_token = (longer.decode_energy_j / (longer.output_tokens - 1)).mean()
    return float(rows.prefill_energy_j.mean() + (tokens - 1) * per_token)


def energy_summaries(
    runs: pd.DataFrame, llm: pd.DataFrame, images: pd.DataFrame
) -> list[dict[str, object]]:
    """Mean energy per request and per unit of each text, image and video group (ok rows);
    text groups also carry their estimated energy per answer at the paper's answer length."""
    out = []
    text = llm[(llm.status == "ok") & llm.energy_j.notna() & (llm.output_tokens > 0)]
    for name, rows in text.groupby("llm", sort=True):
        for group, d in [*rows.groupby("dataset", sort=True), ("all", rows)]:
            summary = _summary(d, "text", name, group, "token", d.output_tokens, d.duration_s)
            summary["energy_at_paper_tokens_j"] = energy_at_tokens(d, PAPER_OUTPUT_TOKENS)
            out.append(summary)
    image = images[(images.status == "ok") & images.energy_j.notna()]
    for (name, res, steps), d in image.groupby(["model", "resolution", "steps"], sort=True):
        ones = pd.Series(1.0, index=d.index)
        group = f"{res}_s{steps}"
        out.append(_summary(d, "image", name, group, "image", ones, d.generation_duration_s))
    video = runs[(runs.status == "ok") & runs.energy_j.notna()]
    for (name, res, frames, steps), d in video.groupby(
        ["model", "resolution", "frames", "steps"], sort=True
    ):
        group = f"{res}_f{frames}_s{steps}"
        out.append(_summary(d, "video", name, group, "frame", d.frames, d.generation_duration_s))
    return out


def compare(
    runs: pd.DataFrame,
    llm: pd.DataFrame,
    images: pd.DataFrame,
    scenarios: Sequence[tuple[str, float]],
    pue: float,
    reference_llm: str | None = None,
) -> pd.DataFrame:
    """The video_vs_text table: one row per (group, scenario).

    `scenarios`: (name, intensity_g_per_kwh) pairs; `pue`: power usage effectiveness.
    Ratios divide by the text row of `reference_llm` over all datasets (default: the first
    LLM by name); they are energy ratios, so the same under every scenario.
    """
    summaries = energy_summaries(runs, llm, images)
    texts = [s for s in summaries if s["modality"] == "text" and s["group"] == "all"]
    reference = None
    if texts:
        reference = next((s for s in texts if s["model"] == reference_llm), None)
        if reference is None:
            if reference_llm is not None:
                known = ", ".join(str(s["model"]) for s in texts)
                raise ValueError(
                    f"reference_llm {reference_llm!r} has no successful request; measured: {known}"
                )
            reference = texts[0]
    at_paper = None if reference is None else reference["energy_at_paper_tokens_j"]

    def ratio(value, of):
        return None if of is None else value / of

    rows = []
    for s in summaries:
        s = {k: v for k, v in s.items() if k != "energy_at_paper_tokens_j"}
        for scenario, intensity in scenarios:
            rows.append(
                {
                    **s,
                    "scenario": scenario,
                    "intensity_g_per_kwh": float(intensity),
                    "pue": float(pue),
                    "carbon_per_request_g": operational_g(
                        s["energy_per_request_j"], intensity, pue
                    ),
                    "carbon_per_unit_g": operational_g(s["energy_per_unit_j"], intensity, pue),
                    "reference_text": None if reference is None else reference["model"],
                    "request_ratio_vs_text": None
                    if reference is None
                    else s["energy_per_request_j"] / reference["energy_per_request_j"],
                    "unit_ratio_vs_text": None
                    if reference is None
                    else s["energy_per_unit_j"] / reference["energy_per_unit_j"],
                    "reference_output_tokens": None
                    if reference is None
                    else reference["units_per_request"],
                    "paper_output_tokens": PAPER_OUTPUT_TOKENS,
                    "reference_energy_at_paper_tokens_j": at_paper,
                    "request_ratio_at_paper_tokens": ratio(s["energy_per_request_j"], at_paper),
                    "unit_ratio_at_paper_tokens": ratio(
                        s["energy_per_unit_j"],
                        None if at_paper is None else at_paper / PAPER_OUTPUT_TOKENS,
                    ),
                }
            )
    return pd.DataFrame(rows)


def write_comparison(
    runs_path: str,
    llm_path: str | None,
    images_path: str | None,
    out_path: str,
    scenarios: Sequence[tuple[str, float]],
    pue: float,
    reference_llm: str | None,
    config_hash: str,
) -> None:
    """Read the tables (llm and images optional), compare, write video_vs_text.parquet."""
    from vidcarbon.analysis.shared_counters import note, without_shared
    from vidcarbon.levers import baseline_rows
    from vidcarbon.tables import SCHEMAS, provenance, read_table, write_table

    def read(name: str, path: str | None) -> pd.DataFrame:
        table = SCHEMAS[name].empty_table() if path is None else read_table(name, path)
        return table.to_pandas()

    runs, llm, images = read("runs", runs_path), read("llm", llm_path), read("images", images_path)
    runs = baseline_rows(runs)  # the video model as configured, no lever
    # rows whose device-wide counter another process shared hold its energy: left out
    (runs, n_runs), (llm, n_llm), (images, n_images) = map(without_shared, (runs, llm, images))
    for left_out, what in ((n_runs, "cells"), (n_llm, "requests"), (n_images, "images")):
        if left_out:
            log.warning(note(left_out, what))
    table = compare(runs, llm, images, scenarios, pue, reference_llm)
    frames = (runs, llm, images)
    meta = provenance(
        config_hash,
        [h for f in frames for h in f.hostname.dropna()],
        [d for f in frames for d in f.device_name.dropna()],
    )
    write_table("video_vs_text", table.to_dict("records"), out_path, meta)
