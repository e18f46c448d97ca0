"""The GPU check's figures from GPU-shaped tables (what the parts write on an H200): published
comparators, the FLOPs bound, per-token energies, and parts that did not finish."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO
from vidcarbon.gpu_check import (
    WAN_DENOISE_FLOPS_META,
    PartStatus,
    brief,
    figures,
    markdown,
    write,
)
from vidcarbon.tables import provenance, write_table

H200 = "NVIDIA H200"
WAN_ID = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
PHASE_S = {"encode": 0.2, "denoise": 85.0, "decode": 8.0}
PHASE_J = {"encode": 100.0, "denoise": 60_000.0, "decode": 4_000.0}
STEP_FLOPS = WAN_DENOISE_FLOPS_META // 50
META = provenance("test", ["gpu-host"], [H200])  # as collect writes them


def write_parts(root, llm=True):
    energy = root / "energy"
    energy.mkdir(parents=True)
    idle = {
        "status": "ok",
        "idle_power_w": {"gpu": 80.0, "cpu": 1.0},
        "windows": [{"duration_s": 5.0}],
        "counter_update_period_s": {"gpu": 0.1, "cpu": 0.001},
        "device_names": {"gpu": H200},
    }
    (energy / "idle_cuda.json").write_text(json.dumps(idle))
    check = {
        "matrix_size": 8192,
        "dtype": "bfloat16",
        "matmuls": 5000,
        "duration_s": 7.0,
        "matmul_tflops": 785.0,
        "meter_energy_j": 4_900.0,
        "reference_energy_j": 4_910.0,
        "reference": f"NVML total energy of {H200}",
        "trace_energy_j": 4_800.0,
        "mean_power_w": 700.0,
        "idle_power_w": 80.0,
        "power_limit_w": 700.0,
        "difference_pct": -0.2,
        "tolerance_pct": 2.0,
        "agree": True,
        "power_in_range": True,
        "verdict": "pass",
        "detail": "both checks hold",
    }
    record = {"status": "ok", "device_names": {"gpu": H200}, "check": check}
    (energy / "energy_check_cuda.json").write_text(json.dumps(record))
    run = {
        "run_id": "r1",
        "cell_id": "wan2.1-1.3b/p1/480p_f81_s50_seed0_baseline",
        "model": "wan2.1-1.3b",
        "prompt_id": "p1",
        "resolution": "480p",
        "frames": 81,
        "steps": 50,
        "seed": 0,
        "lever": "baseline",
        "gpus": 1,
        "ulysses_degree": 1,
        "ring_degree": 1,
        "height": 480,
        "width": 832,
        "video_duration_s": 5.0625,
        "status": "ok",
        "device_name": H200,
        "cpu_method": "estimated",
        "generation_duration_s": sum(PHASE_S.values()),
        "energy_j": sum(PHASE_J.values()) + 900.0,
        **{f"{p}_duration_s": s for p, s in PHASE_S.items()},
        **{f"{p}_gpu_energy_j": j for p, j in PHASE_J.items()},
    }
    (root / "wan").mkdir()
    write_table("runs", [run], root / "wan" / "runs.parquet", META)
    steps = [
        {**{k: run[k] for k in ("run_id", "cell_id", "model", "prompt_id", "resolution")},
         "frames": 81, "steps": 50, "seed": 0, "lever": "baseline", "gpus": 1,
         "ulysses_degree": 1, "ring_degree": 1, "step_index": i,
         "duration_s": 1.7, "gpu_energy_j": 1_200.0, "counter_update_period_s": 0.1,
         "below_counter_resolution": i < 3}  # as if three steps were shorter than 0.2 s
        for i in range(50)
    ]  # fmt: skip
    write_table("steps", steps, root / "wan" / "steps.parquet", META)
    (root / "wan-flops").mkdir()
    flops = {"model": "wan2.1-1.3b", "resolution": "480p", "frames": 81}
    write_table(
        "flops",
        [{**flops, "denoise_step_flops": int(STEP_FLOPS)}],
        root / "wan-flops" / "flops.parquet",
        META,
    )
    if llm:
        (root / "llm").mkdir()
        requests = [
            {
                "llm": "llama-2-13b",
                "dataset": dataset,
                "prompt_id": f"p{i}",
                "status": "ok",
                "device_name": H200,
                "input_tokens": 40,
                "output_tokens": tokens,
                "prefill_duration_s": 0.05,
                "prefill_gpu_energy_j": 20.0,
                "decode_duration_s": 0.02 * (tokens - 1),
                "decode_gpu_energy_j": 8.0 * (tokens - 1),
            }
            for i, (dataset, tokens) in enumerate(
                [
                    ("alpaca", 128),
                    ("gsm8k", 128),
                    ("mmlu", 16),
                    ("nq_open", 16),
                    ("scienceqa", 16),
                    ("triviaqa", 16),
                ]
            )
        ]
        write_table("llm", requests, root / "llm" / "llm.parquet", META)


def one(rows, part, figure, subject=""):
    (row,) = [
        r for r in rows if r["part"] == part and r["figure"] == figure and subject in r["subject"]
    ]
    return row


STATUSES = [PartStatus(p, "ok", 100.0, 50.0) for p in ("energy", "wan", "llm", "wan-flops")]


@pytest.fixture
def rows(tmp_path):
    write_parts(tmp_path)
    return figures(tmp_path, STATUSES, "cuda", {"wan2.1-1.3b": WAN_ID}, {H200: 989.0})


def test_wan_figures_sit_next_to_ml_energy(rows):
    video = one(rows, "wan", "GPU energy per video")
    assert video["value"] == pytest.approx(64_100.0)
    assert video["reference"] == 64_672.0 and "ML.ENERGY" in video["reference_source"]
    assert one(rows, "wan", "time per video")["reference"] == 95.4
    assert one(rows, "wan", "mean GPU power")["value"] == pytest.approx(64_100.0 / 93.2)
    assert one(rows, "wan", "step GPU energy, mean")["value"] == pytest.approx(1_200.0)
    assert one(rows, "wan", "denoise GPU energy")["device_name"] == H200


def test_the_flops_bound_uses_the_measured_matmul_rate(rows):
    counted = one(rows, "wan-flops", "denoising FLOPs")
    assert counted["value"] == pytest.approx(50 * STEP_FLOPS)
    assert counted["reference"] == WAN_DENOISE_FLOPS_META
    assert counted["check"] == "pass"  # count_flops on shapes gives the meta count exactly
    bound_s = 50 * STEP_FLOPS / 785e12
    assert one(rows, "wan-flops", "denoising time bound at the matmul rate")["value"] == (
        pytest.approx(bound_s)
    )
    assert one(rows, "wan-flops", "utilisation of the matmul rate")["value"] == pytest.approx(
        100 * bound_s / 85.0
    )
    throughput = one(rows, "wan-flops", "denoising throughput")
    assert throughput["value"] == pytest.approx(50 * STEP_FLOPS / 85.0 / 1e12)
    assert throughput["reference"] == 989.0


def test_llm_energy_per_token_counts_decode_after_the_first_token(rows):
    decode = one(rows, "llm", "decode GPU energy per token", " alpaca")
    assert decode["value"] == pytest.approx(8.0)  # 127 decoded tokens; the first is prefill's
    assert one(rows, "llm", "prefill GPU energy per input token", " mmlu")["value"] == 0.5
    assert one(rows, "llm", "decode tokens/s", " mmlu")["value"] == pytest.approx(50.0)
    assert one(rows, "llm", "GPU energy per request", " gsm8k")["value"] == 20.0 + 8.0 * 127


def test_the_energy_check_and_its_bounds(rows):
    difference = one(rows, "energy", "meter minus counter")
    assert (difference["value"], difference["check"], difference["reference"]) == (
        -0.2,
        "pass",
        2.0,
    )
    assert one(rows, "energy", "load mean power")["check"] == "pass"
    matmul = one(rows, "energy", "matmul throughput")
    assert (matmul["value"], matmul["reference"]) == (785.0, 989.0)
    assert one(rows, "energy", "counter update period")["value"] == 0.1


def test_steps_below_the_counters_resolution_are_counted(rows):
    detail = one(rows, "wan", "step GPU energy, mean")["detail"]
    assert detail.startswith("3 of 50 steps shorter than twice the counter's 100 ms update period")


def test_a_part_out_of_time_keeps_its_figures_listed_without_values(tmp_path):
    write_parts(tmp_path, llm=False)
    statuses = [*STATUSES[:2], PartStatus("llm", "timed out", 95.0, 95.0, "stopped at 95 s")]
    rows = figures(tmp_path, statuses, "cuda", {"wan2.1-1.3b": WAN_ID}, {H200: 989.0})
    llm = [r for r in rows if r["part"] == "llm" and r["subject"] != "the part"]
    assert len(llm) == 6 * 7  # every figure of every dataset
    assert {(r["value"], r["status"], r["detail"]) for r in llm} == {
        (None, "timed out", "stopped at 95 s")
    }
    # parts that never ran: their figures say "not measured"
    assert one(rows, "cogvideox", "energy per video")["status"] == "not measured"


def test_the_table_is_written_with_its_provenance(rows, tmp_path):
    write(rows, tmp_path, "abc", ["gpu-host"], {"vidcarbon.gpu_check.mode": "gpu"}, "GPU check")
    table = pq.read_table(tmp_path / "gpu_check.parquet")
    meta = table.schema.metadata
    assert meta[b"vidcarbon.table"] == b"gpu_check" and meta[b"vidcarbon.gpu_check.mode"] == b"gpu"
    assert json.loads(meta[b"vidcarbon.devices"]) == [H200]
    assert table.num_rows == len(rows)
    text = markdown(rows, "GPU check")
    assert (
        "| wan | wan2.1-1.3b 480p (480x832), 81 frames (5.0625 s), 50 steps "
        "| GPU energy per video | 64,100 | J | 64,672 (ML.ENERGY" in text
    )


def test_the_printed_brief_keeps_the_main_figures_short(rows):
    text = brief(rows)
    lines = text.splitlines()
    assert any("GPU energy per video" in line and "(ref 64,672)" in line for line in lines)
    assert any("decode GPU energy per token" in line for line in lines)
    assert not any(" denoise time " in line or "input tokens" in line for line in lines)
    # a whole GPU run's brief must fit in the last 12,000 characters of a command's output
    assert len(lines) < len(rows) and max(map(len, lines)) < 160


def _closure_module():
    import importlib.util

    path = REPO / "benchmarks" / "gpu_check_wheel_closure.py"
    spec = importlib.util.spec_from_file_location("gpu_check_wheel_closure", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_carried_wheels_are_a_closed_set():
    """Every carried wheel's declared requirements (read from PyPI's metadata) are carried, on
    the GPU machine at a version that satisfies them, or listed as not carried with a reason;
    no carried wheel is dead weight."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check_wheel_closure.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 problems" in proc.stdout


def test_the_closure_check_finds_an_old_machine_package_and_a_dead_wheel():
    closure = _closure_module()
    lists = closure.Lists(
        carried={"pydantic": "2.14.3", "snakemake": "9.27.1", "tyro": "1.0"},
        not_carried={},
        machine={"typing-extensions": "4.12.2", "requests": None},
    )
    requires = {
        "snakemake": ["pydantic>=2.11", "requests<3", "pulp; python_version < '3.0'"],
        "pydantic": ["typing-extensions>=4.16.0", "email-validator; extra == 'email'"],
        "tyro": [],
    }
    result = closure.check(lists, requires)
    assert result.problems == [
        "pydantic needs typing-extensions>=4.16.0; the machine has 4.12.2: carry a wheel that "
        "satisfies it",
        "tyro: carried, but no root needs it (dead weight)",
    ]
    assert result.unverified == ["snakemake needs requests<3; the machine's version is unknown"]
