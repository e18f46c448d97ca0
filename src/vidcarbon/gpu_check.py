"""The figures of the GPU check (benchmarks/gpu_check.sh), read from the tables its parts wrote.

Each part of the check runs the pipeline on one config and leaves its tables in
`<parts>/<part>/`. This module turns them into one long table, one row per figure (the meter
against the NVML counter; Wan2.1's energy and time per video, phase and step, next to
ML.ENERGY's published row and the FLOPs bound; Llama-2-13B's energy per token; the optional
cells), and writes it as `gpu_check.parquet` (table `gpu_check`) and `gpu_check.md`. Every
expected figure has a row: one whose part did not run, failed or ran out of time says so in
`status`, with no value.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidcarbon.tables import provenance, read_table, write_table

# Published comparators: the ML.ENERGY leaderboard's text-to-video data
# (github.com/ml-energy/leaderboard, public/data/tasks/text-to-video.json): H100 80GB, batch 1,
# one GPU, 50 steps, GPU energy and latency of the whole pipeline call (text encoding,
# denoising, VAE decoding).
ML_ENERGY_SOURCE = "ML.ENERGY leaderboard, text-to-video, H100, batch 1 (GPU energy, whole call)"
ML_ENERGY = {
    ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 480, 832, 81, 50): (64_672.0, 95.4, 678.0),
    ("THUDM/CogVideoX-2b", 480, 720, 49, 50): (28_614.0, 43.0, 665.0),
}
# Wan2.1-T2V-1.3B's denoising at 480x832, 81 frames, 50 steps, two transformer passes per step
# (guidance), counted by PyTorch's FlopCounterMode on the meta device:
# `python benchmarks/wan_flops_meta.py`.
WAN_SHAPE = ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 480, 832, 81, 50)
WAN_DENOISE_FLOPS_META = 28_300_178_777_702_400  # exactly; printed by that script
WAN_FLOPS_SOURCE = "FlopCounterMode on the meta device (benchmarks/wan_flops_meta.py)"
VIDEO_PARTS = ("wan", "cogvideox", "latte")


@dataclass(frozen=True)
class PartStatus:
    """How one part of the check ended (ok | failed | timed out | skipped), its budget and
    wall time in seconds, and why, where it did not end ok."""

    part: str
    status: str
    budget_s: float | None = None
    wall_s: float | None = None
    reason: str | None = None


def _row(part, subject, figure, value, unit, **extra) -> dict[str, Any]:
    row = {
        "part": part,
        "subject": subject,
        "figure": figure,
        "value": None if value is None else float(value),
        "unit": unit,
        "status": "measured" if value is not None else "not measured",
        "check": None,
        "reference": None,
        "reference_source": None,
        "detail": None,
        "device_name": None,
    }
    row.update(extra)
    return row


def _ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def _read_rows(name: str, path: Path) -> list[dict[str, Any]]:
    """Rows of table `name` at `path` (refusing another table or schema version), or none."""
    return read_table(name, path).to_pylist() if path.is_file() else []


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


# -- part energy: idle power and the energy check ------------------------------------------------
def _idle_detail(idle: dict, component: str) -> str | None:
    """How the idle figure was obtained: a sleep window, or not applicable to the counter."""
    if not idle:
        return None
    if component in idle.get("idle_not_applicable", []):
        return f"not applicable: the {component} counter counts only the job's own work"
    windows = idle.get("windows") or [{}]
    return f"mean power over {windows[0].get('duration_s', 0):.1f} s of sleep (rule idle_baseline)"


def energy_rows(folder: Path, device: str, datasheet_tflops: dict[str, float]) -> list[dict]:
    idle = _read_json(folder / f"idle_{device}.json") or {}
    record = _read_json(folder / f"energy_check_{device}.json") or {}
    check = record.get("check", {})
    component = "gpu" if device == "cuda" else "cpu"
    names = record.get("device_names") or idle.get("device_names") or {}
    name = names.get(component)
    subject = f"{check['matrix_size']}^3 {check['dtype']} matmul load" if check else "matmul load"
    peak = datasheet_tflops.get(name)
    common = {"device_name": name}
    verdict = check.get("verdict")
    rows = [
        _row(
            "energy",
            f"{component} at rest",
            f"idle {component} power",
            (idle.get("idle_power_w") or {}).get(component),
            "W",
            detail=_idle_detail(idle, component),
            **common,
        ),
        _row(
            "energy",
            f"{component} energy counter",
            "counter update period",
            (idle.get("counter_update_period_s") or {}).get(component),
            "s",
            detail="median time between changes of the counter, polled every 1 ms for 1 s "
            "(rule idle_baseline); steps shorter than twice this are flagged in steps.parquet",
            **common,
        ),
        _row(
            "energy",
            subject,
            "matmul throughput",
            check.get("matmul_tflops"),
            "TFLOP/s",
            reference=peak,
            reference_source="datasheet dense bf16 peak (config/hardware.yaml)" if peak else None,
            detail=f"{check.get('matmuls')} products in {check.get('duration_s') or 0:.3g} s",
            **common,
        ),
        _row(
            "energy",
            subject,
            "load energy, meter windows",
            check.get("meter_energy_j"),
            "J",
            detail="sum of the matmul_i windows' GPU energy (Zeus, NVML counter)",
            **common,
        ),
        _row(
            "energy",
            subject,
            "load energy, NVML counter",
            check.get("reference_energy_j"),
            "J",
            detail=check.get("reference"),
            **common,
        ),
        _row(
            "energy",
            subject,
            "meter minus counter",
            check.get("difference_pct"),
            "%",
            check=_verdict(check.get("agree")),
            reference=check.get("tolerance_pct"),
            reference_source="allowed: within ± this",
            detail=check.get("detail") if verdict != "pass" else None,
            **common,
        ),
        _row(
            "energy",
            subject,
            "load mean power",
            check.get("mean_power_w"),
            "W",
            check=_verdict(check.get("power_in_range")),
            detail="must be above idle power and at most the power limit",
            **common,
        ),
        _row(
            "energy",
            subject,
            "enforced power limit",
            check.get("power_limit_w"),
            "W",
            detail="NVML enforced power limit",
            **common,
        ),
        _row(
            "energy",
            subject,
            "power trace integral minus counter",
            None
            if check.get("trace_energy_j") is None or not check.get("reference_energy_j")
            else 100 * (check["trace_energy_j"] / check["reference_energy_j"] - 1),
            "%",
            detail="the sampled power trace integrated over the load (information only: NVML "
            "power is averaged over about 1 s on Hopper)",
            **common,
        ),
    ]
    if record and record.get("status") != "ok":
        for row in rows[2:]:
            row.update(status="failed", detail=record.get("error"))
    elif device != "cuda":
        for row in rows[3:]:
            row["detail"] = "device cpu: no GPU energy counter to check"
    return rows


def _verdict(value: bool | None) -> str | None:
    return None if value is None else ("pass" if value else "fail")


# -- video parts: one cell's phases and steps ------------------------------------------------------
def _cell_subject(run: dict[str, Any]) -> str:
    return (
        f"{run['model']} {run['resolution']} ({run['height']}x{run['width']}), "
        f"{run['frames']} frames ({run['video_duration_s']:g} s), {run['steps']} steps"
    )


def video_rows(
    part: str,
    run: dict[str, Any],
    steps: list[dict[str, Any]],
    options_model: str | None,
    device: str,
) -> list[dict]:
    """The figures of one generated video (a runs row and its steps rows)."""
    component = "gpu" if device == "cuda" else "cpu"
    word = component.upper()
    subject = _cell_subject(run)
    ok = run["status"] == "ok"
    common = {"device_name": run.get("device_name")}
    if not ok:
        common.update(status=run["status"], detail=run.get("error"))
    phases = ("encode", "denoise", "decode")
    energy = [run.get(f"{p}_{component}_energy_j") for p in phases]
    video_j = None if None in energy else sum(energy)
    duration_s = run.get("generation_duration_s")
    published = ML_ENERGY.get(_shape(run, options_model))
    reference = {"reference_source": ML_ENERGY_SOURCE} if published and component == "gpu" else {}

    def ref(index):
        return {"reference": published[index], **reference} if reference else {}

    rows = [
        _row(part, subject, f"{word} energy per video", video_j, "J", **ref(0), **common),
        _row(part, subject, "time per video", duration_s, "s", **ref(1), **common),
        _row(
            part,
            subject,
            f"mean {word} power",
            _ratio(video_j, duration_s),
            "W",
            **ref(2),
            **common,
        ),
        _row(
            part,
            subject,
            "energy per video, all components",
            run.get("energy_j"),
            "J",
            detail=f"GPU + CPU ({run.get('cpu_method')}) + DRAM, gross",
            **common,
        ),
        _row(part, subject, "net energy per video", run.get("net_energy_j"), "J", **common),
    ]
    for phase in phases:
        rows += [
            _row(part, subject, f"{phase} time", run.get(f"{phase}_duration_s"), "s", **common),
            _row(
                part,
                subject,
                f"{phase} {word} energy",
                run.get(f"{phase}_{component}_energy_j"),
                "J",
                **common,
            ),
        ]
    step_s = [s["duration_s"] for s in steps if s.get("duration_s") is not None]
    step_j = [
        s[f"{component}_energy_j"] for s in steps if s.get(f"{component}_energy_j") is not None
    ]
    spread = (
        f"{len(step_s)} steps, min {min(step_s):.4g} s, max {max(step_s):.4g} s" if step_s else None
    )
    rows += [
        _row(
            part,
            subject,
            "step time, mean",
            statistics.fmean(step_s) if step_s else None,
            "s",
            detail=spread,
            **common,
        ),
        _row(
            part,
            subject,
            f"step {word} energy, mean",
            statistics.fmean(step_j) if step_j else None,
            "J",
            detail=_resolution(steps),
            **common,
        ),
        _row(part, subject, "warm-up time", run.get("warmup_duration_s"), "s", **common),
        _row(
            part,
            subject,
            "model build time (load)",
            run.get("load_duration_s"),
            "s",
            detail=f"denoiser {run.get('params_transformer')} parameters, {run.get('dtype')}, "
            f"attention {run.get('attention')}",
            **common,
        ),
    ]
    return rows


def _resolution(steps: list[dict[str, Any]]) -> str | None:
    """How many steps are shorter than twice the energy counter's update period."""
    flags = [s.get("below_counter_resolution") for s in steps]
    if not steps or None in flags:
        return None
    period_s = steps[0]["counter_update_period_s"]
    return (
        f"{sum(flags)} of {len(steps)} steps shorter than twice the counter's "
        f"{period_s * 1000:.0f} ms update period: their energies are quantised, their sum is not"
    )


def _shape(run: dict[str, Any], model_id: str | None) -> tuple:
    return (model_id, run["height"], run["width"], run["frames"], run["steps"])


def flops_rows(
    run: dict[str, Any] | None,
    model_id: str | None,
    flops: list[dict[str, Any]],
    matmul_tflops: float | None,
    datasheet_tflops: dict[str, float],
) -> list[dict]:
    """Wan2.1's denoising FLOPs and the time bound at the measured matmul rate."""
    subject = _cell_subject(run) if run else "wan2.1-1.3b 480p (480x832), 81 frames, 50 steps"
    counted = run is not None and _shape(run, model_id) == WAN_SHAPE
    match = [
        f
        for f in flops
        if run
        and (f["model"], f["resolution"], f["frames"])
        == (run["model"], run["resolution"], run["frames"])
    ]
    step_flops = match[0]["denoise_step_flops"] if match else None
    denoise_flops = step_flops * run["steps"] if step_flops is not None and run else None
    bound_s = _ratio(denoise_flops, None if matmul_tflops is None else matmul_tflops * 1e12)
    denoise_s = run.get("denoise_duration_s") if run and run["status"] == "ok" else None
    achieved = _ratio(_ratio(denoise_flops, denoise_s), 1e12)
    peak = datasheet_tflops.get(run.get("device_name")) if run else None
    return [
        _row(
            "wan-flops",
            subject,
            "denoising FLOPs",
            denoise_flops,
            "FLOP",
            check=_verdict(denoise_flops == WAN_DENOISE_FLOPS_META)
            if counted and denoise_flops is not None
            else None,
            reference=float(WAN_DENOISE_FLOPS_META) if counted else None,
            reference_source=WAN_FLOPS_SOURCE if counted else None,
            detail="rule count_flops: one step with guidance x steps",
        ),
        _row(
            "wan-flops",
            subject,
            "denoising time bound at the matmul rate",
            bound_s,
            "s",
            detail=f"FLOPs / the energy part's matmul rate ({matmul_tflops or 0:.3g} TFLOP/s)",
        ),
        _row(
            "wan-flops",
            subject,
            "denoising throughput",
            achieved,
            "TFLOP/s",
            reference=peak,
            reference_source="datasheet dense bf16 peak (config/hardware.yaml)" if peak else None,
        ),
        _row(
            "wan-flops",
            subject,
            "utilisation of the matmul rate",
            None if _ratio(bound_s, denoise_s) is None else 100 * _ratio(bound_s, denoise_s),
            "%",
            detail="time bound / measured denoising time",
        ),
    ]


# -- part llm ------------------------------------------------------------------------------------
LLM_DATASETS = ("alpaca", "gsm8k", "mmlu", "nq_open", "scienceqa", "triviaqa")


def llm_rows(requests: list[dict[str, Any]], device: str) -> list[dict]:
    component = "gpu" if device == "cuda" else "cpu"
    word = component.upper()
    rows = []
    for dataset in LLM_DATASETS:
        found = [r for r in requests if r["dataset"] == dataset]
        r = found[0] if found else {}
        subject = f"{r.get('llm', 'llama-2-13b')} {dataset}"
        common = {"device_name": r.get("device_name")}
        if r and r["status"] != "ok":
            common.update(status=r["status"], detail=r.get("error"))
        tokens_in, tokens_out = r.get("input_tokens"), r.get("output_tokens")
        prefill_j = r.get(f"prefill_{component}_energy_j")
        decode_j = r.get(f"decode_{component}_energy_j")
        # decode windows start after the first token, which prefill produced
        decoded = None if tokens_out is None else tokens_out - 1
        rows += [
            _row("llm", subject, "input tokens", tokens_in, "tokens", **common),
            _row("llm", subject, "output tokens", tokens_out, "tokens", **common),
            _row(
                "llm",
                subject,
                f"prefill {word} energy per input token",
                _ratio(prefill_j, tokens_in),
                "J/token",
                **common,
            ),
            _row(
                "llm",
                subject,
                f"decode {word} energy per token",
                _ratio(decode_j, decoded),
                "J/token",
                **common,
            ),
            _row(
                "llm",
                subject,
                "prefill tokens/s",
                _ratio(tokens_in, r.get("prefill_duration_s")),
                "tokens/s",
                **common,
            ),
            _row(
                "llm",
                subject,
                "decode tokens/s",
                _ratio(decoded, r.get("decode_duration_s")),
                "tokens/s",
                **common,
            ),
            _row(
                "llm",
                subject,
                f"{word} energy per request",
                None if None in (prefill_j, decode_j) else prefill_j + decode_j,
                "J",
                **common,
            ),
        ]
    return rows


# -- part levers ---------------------------------------------------------------------------------
def lever_rows(levers: list[dict[str, Any]], device: str) -> list[dict]:
    """Each lever cell against its baseline: energy, denoising energy and time saved, and the
    fidelity of its video to the baseline's (scenario-independent figures: the first
    scenario's rows)."""
    if not levers:
        return [_row("levers", "lever cells", "energy saved", None, "%")]
    first = levers[0]["scenario"]
    rows = []
    for r in (r for r in levers if r["scenario"] == first):
        subject = f"{r['model']} {r['resolution']}, {r['frames']} frames: {r['lever']}"
        common = {"device_name": r.get("device_name")}
        if r["status"] != "ok":
            common.update(status=r["status"], detail=r.get("error"))
        rows += [
            _row(
                "levers",
                subject,
                "energy saved",
                None if r["energy_saved_fraction"] is None else 100 * r["energy_saved_fraction"],
                "%",
                reference=r["baseline_energy_j"],
                reference_source="the baseline cell's energy, J",
                detail=f"{r['steps_run']} of {r['steps']} steps run; {r['lever_kinds']}",
                **common,
            ),
            _row(
                "levers",
                subject,
                "denoising energy saved",
                r["denoise_energy_saved_j"],
                "J",
                reference=r["baseline_denoise_energy_j"],
                reference_source="the baseline's denoising energy, J",
                **common,
            ),
            _row("levers", subject, "time saved", r["duration_saved_s"], "s", **common),
            _row(
                "levers",
                subject,
                "fidelity to the baseline: PSNR",
                r["psnr_db"],
                "dB",
                detail=r["fidelity_method"],
                **common,
            ),
            _row("levers", subject, "fidelity to the baseline: SSIM", r["ssim"], "", **common),
        ]
    return rows


# -- part parallel -------------------------------------------------------------------------------
def parallel_rows(runs: list[dict[str, Any]], ranks: list[dict[str, Any]], device: str) -> list:
    """Each cell on several GPUs against the one-GPU cell of the same keys (the wan part's):
    energy and time per video, the speedup, the energy ratio, and each rank's share."""
    split = [r for r in runs if r.get("gpus", 1) > 1]
    if not split:
        return [_row("parallel", "cells on two GPUs", "energy per video", None, "J")]
    component = "gpu" if device == "cuda" else "cpu"
    one = {r["cell_id"]: r for r in runs if r.get("gpus", 1) == 1}
    rows = []
    for run in split:
        base = one.get(run["cell_id"].rsplit("_g", 1)[0], {})
        subject = f"{_cell_subject(run)}, {run['gpus']} GPUs (ulysses {run['ulysses_degree']})"
        common = {"device_name": run.get("device_name")}
        if run["status"] != "ok":
            detail = f"rank {run.get('failed_rank')}: {run.get('error')}"
            common.update(status=run["status"], detail=detail)
        energy = [run.get(f"{p}_{component}_energy_j") for p in ("denoise", "decode")]
        base_energy = [base.get(f"{p}_{component}_energy_j") for p in ("denoise", "decode")]
        video_j = None if None in energy else sum(energy)
        base_j = None if None in base_energy else sum(base_energy)
        time_s = _sum(run, ("denoise_duration_s", "decode_duration_s"))
        base_s = _sum(base, ("denoise_duration_s", "decode_duration_s"))
        shares = [r["energy_share"] for r in ranks if r["run_id"] == run["run_id"]]
        rows += [
            _row(
                "parallel",
                subject,
                f"{component.upper()} energy per video, denoise + decode",
                video_j,
                "J",
                reference=base_j,
                reference_source="the one-GPU cell's, J",
                **common,
            ),
            _row(
                "parallel",
                subject,
                "time per video, denoise + decode",
                time_s,
                "s",
                reference=base_s,
                reference_source="the one-GPU cell's, s",
                **common,
            ),
            _row("parallel", subject, "speedup", _ratio(base_s, time_s), "x", **common),
            _row("parallel", subject, "energy ratio", _ratio(video_j, base_j), "x", **common),
            _row(
                "parallel",
                subject,
                "largest rank's energy share",
                max((s for s in shares if s is not None), default=None),
                "",
                detail=f"{len(shares)} ranks; 1/{run['gpus']} when balanced",
                **common,
            ),
        ]
    return rows


def _sum(row: dict[str, Any], columns: tuple[str, ...]) -> float | None:
    values = [row.get(c) for c in columns]
    return None if None in values else sum(values)


# -- the whole table -----------------------------------------------------------------------------
def _part_status_rows(statuses: Iterable[PartStatus]) -> list[dict]:
    return [
        _row(
            s.part,
            "the part",
            "wall time",
            s.wall_s,
            "s",
            status=s.status,
            reference=s.budget_s,
            reference_source="the part's time budget",
            detail=s.reason,
        )
        for s in statuses
    ]


def _mark(rows: list[dict], status: PartStatus | None) -> list[dict]:
    """Rows of a part that did not end ok carry its status where they have no value."""
    if status is None or status.status == "ok":
        return rows
    for row in rows:
        if row["value"] is None:
            row["status"] = status.status
            row["detail"] = row["detail"] or status.reason
    return rows


def figures(
    parts_dir: str | Path,
    statuses: list[PartStatus],
    device: str,
    model_ids: dict[str, str],
    datasheet_tflops: dict[str, float],
) -> list[dict[str, Any]]:
    """Every figure of the check, from the tables under `parts_dir/<part>/`.

    `model_ids`: configured model name -> hub id (to find its published comparator).
    """
    parts_dir = Path(parts_dir)
    by_part = {s.part: s for s in statuses}
    rows = _mark(energy_rows(parts_dir / "energy", device, datasheet_tflops), by_part.get("energy"))
    matmul = next(
        (r["value"] for r in rows if r["figure"] == "matmul throughput" and r["value"]), None
    )
    runs = {part: _read_rows("runs", parts_dir / part / "runs.parquet") for part in VIDEO_PARTS}
    videos = {}
    for part in VIDEO_PARTS:
        steps = _read_rows("steps", parts_dir / part / "steps.parquet")
        videos[part] = [
            row
            for run in runs[part]
            for row in video_rows(
                part,
                run,
                [s for s in steps if s["run_id"] == run["run_id"]],
                model_ids.get(run["model"]),
                device,
            )
        ] or [
            _row(part, f"{part} cells", figure, None, unit)
            for figure, unit in (("energy per video", "J"), ("time per video", "s"))
        ]
    wan_run = next(iter(runs["wan"]), None)
    wan_id = model_ids.get(wan_run["model"]) if wan_run else None
    flops = _read_rows("flops", parts_dir / "wan-flops" / "flops.parquet")
    ordered = [
        ("wan", videos["wan"]),
        ("wan-flops", flops_rows(wan_run, wan_id, flops, matmul, datasheet_tflops)),
        ("llm", llm_rows(_read_rows("llm", parts_dir / "llm" / "llm.parquet"), device)),
        (
            "levers",
            lever_rows(_read_rows("levers", parts_dir / "levers" / "levers.parquet"), device),
        ),
        ("cogvideox", videos["cogvideox"]),
        ("latte", videos["latte"]),
        (
            "parallel",
            parallel_rows(
                _read_rows("runs", parts_dir / "parallel" / "runs.parquet"),
                _read_rows("ranks", parts_dir / "parallel" / "ranks.parquet"),
                device,
            ),
        ),
    ]
    for part, part_rows in ordered:
        rows += _mark(part_rows, by_part.get(part))
    return rows + _part_status_rows(statuses)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1e9 or 0 < size < 1e-3:
        return f"{value:.4g}"
    return f"{value:,.0f}" if size >= 1000 else f"{value:.4g}"


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| part | subject | figure | value | unit | reference | status | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        status = r["status"] + (f", {r['check']}" if r["check"] else "")
        reference = _fmt(r["reference"]) if r["reference"] is not None else ""
        if r["reference_source"] and r["reference"] is not None:
            reference += f" ({r['reference_source']})"
        detail = (r["detail"] or "").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {r['part']} | {r['subject']} | {r['figure']} | {_fmt(r['value'])} | {r['unit']} "
            f"| {reference} | {status} | {detail} |"
        )
    return "\n".join(lines) + "\n"


# left out of the command's printed summary (gpu_check.md has them): the per-phase details
# whose totals are printed, and the LLM's inputs
_DETAILS = {
    *(f"{phase} time" for phase in ("encode", "denoise", "decode")),
    *(f"{p} {w} energy" for p in ("encode", "denoise", "decode") for w in ("GPU", "CPU")),
    "warm-up time",
    "model build time (load)",
    "energy per video, all components",
    "net energy per video",
    "input tokens",
    "prefill tokens/s",
}


def brief(rows: list[dict[str, Any]]) -> str:
    """The main figures, one short line each, for the command's output."""
    lines = []
    for r in rows:
        figure = r["figure"]
        if figure in _DETAILS:
            continue
        reference = "" if r["reference"] is None else f" (ref {_fmt(r['reference'])})"
        check = f", {r['check']}" if r["check"] else ""
        lines.append(
            f"{r['part']:<9} {r['subject'][:44]:<44} {figure[:40]:<40} "
            f"{_fmt(r['value'])} {r['unit']}{reference} [{r['status']}{check}]"
        )
    return "\n".join(lines) + "\n"


def write(
    rows: list[dict[str, Any]],
    out_dir: str | Path,
    config_hash: str,
    hosts: list[str],
    meta: dict[str, str],
    title: str,
) -> None:
    """`gpu_check.parquet` (with provenance metadata plus `meta`) and `gpu_check.md`."""
    out_dir = Path(out_dir)
    devices = sorted({r["device_name"] for r in rows if r["device_name"]})
    full = {**provenance(config_hash, hosts, devices), **meta}
    write_table("gpu_check", rows, out_dir / "gpu_check.parquet", full)
    (out_dir / "gpu_check.md").write_text(markdown(rows, title))
