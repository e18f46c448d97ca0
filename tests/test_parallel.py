"""Cells on several devices: refused layouts, the ranks' records merged into the cell's, and
a tiny Wan2.1 on two CPU processes (gloo) started by torch's launcher: the same video as on
one, the cell's energy the sum of its ranks', a failed or killed rank named in the row, and
no process left behind."""

from __future__ import annotations

import copy
import json
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SCHEMA
from tests.test_config import check_error
from tests.test_config import config as config  # noqa: F401 - the fixture
from tests.test_diffusers_video import COGVIDEOX, LATTE, TINY, WAN
from vidcarbon.backends.diffusers_spec import FAMILIES, embedded_models, known_layout, parse_options
from vidcarbon.config import cells, load_prompts, validate_config
from vidcarbon.energy import fake_devices
from vidcarbon.grid import Cell
from vidcarbon.parallel import CP_TRANSFORMERS, NO_PLAN, denoiser_tokens
from vidcarbon.process.ranks import merge, root_failure
from vidcarbon.video import read_mp4
from vidcarbon.workloads.measured import Measurement
from vidcarbon.workloads.video import jobs
from vidcarbon.workloads.video.measured import encode_prompt
from vidcarbon.workloads.video.table import rank_rows, run_row

TINY_WAN = {"model": WAN, "weights": "random", "architecture": TINY[WAN]}


# -- what can run split ----------------------------------------------------------------------


def test_the_families_with_a_context_parallel_plan_are_diffusers_own():
    import diffusers

    for model in embedded_models():
        layout = known_layout(parse_options({"model": model}))
        transformer = getattr(diffusers, layout.components["transformer"]["class"])
        has_plan = bool(getattr(transformer, "_cp_plan", None))
        assert has_plan == (layout.family in CP_TRANSFORMERS), layout.family
        assert has_plan or layout.family in NO_PLAN
    assert set(CP_TRANSFORMERS) | set(NO_PLAN) == set(FAMILIES.values())


def test_the_token_count_is_the_transformers_sequence():
    """Wan's denoiser sequence (what the ranks split) for the shapes the check divides."""
    import torch

    layout = known_layout(parse_options(TINY_WAN))
    model = _tiny_wan_transformer()
    for frames, height, width in ((5, 32, 48), (9, 64, 96), (1, 48, 48)):
        latents = torch.zeros(1, 16, (frames - 1) // 4 + 1, height // 8, width // 8)
        tokens = model.patch_embedding(latents).flatten(2).shape[-1]
        shape = (frames, height, width)
        assert denoiser_tokens(layout.config("transformer"), layout.config("vae"), shape) == tokens


def _tiny_wan_transformer():
    from vidcarbon.backends import create_backend

    backend = create_backend("diffusers", TINY_WAN)
    backend.load("cpu", ("denoise",))
    return backend.pipe.transformer


def _parallel(config, layouts, model="wan", resolutions=None):
    config["models"] = {
        "latte-tiny": {"backend": "latte-tiny", "options": {}},
        "wan": {"backend": "diffusers", "options": TINY_WAN, "resolutions": resolutions or {}},
    }
    config["grid"]["durations_s"] = [0.625]  # 5 frames: Wan's 4k+1
    config["parallel"] = {"layouts": layouts, "models": [model], "grid": {"steps": [2]}}
    return config


def test_a_layout_adds_its_cells_on_its_grid(config):
    config = _parallel(config, [{"ulysses": 2}], resolutions={"144p": [32, 48]})
    validate_config(config, SCHEMA)
    found = cells(config, load_prompts(config))
    split = [c for c in found if c.gpus > 1]
    # 2 models x 2 prompts x 2 step counts on one device; the Wan's 2 prompts x 1 on two
    assert len(found) == 2 * 2 * 2 + 2 and len(split) == 2
    assert {(c.model, c.ulysses, c.ring, c.steps, c.frames) for c in split} == {("wan", 2, 1, 2, 5)}
    assert all(c.cell_id.endswith("_baseline_g2u2r1") for c in split)


@pytest.mark.parametrize(
    ("model", "layouts", "resolutions", "fragments"),
    [
        (
            "latte-tiny",
            [{"ulysses": 2}],
            None,
            ["model 'latte-tiny' (backend latte-tiny) has no context-parallel plan"],
        ),
        ("wan", [{"ulysses": 1}], None, ["is one device"]),
        # the tiny Wan's 2 heads
        (
            "wan",
            [{"ulysses": 4}],
            {"144p": [32, 64]},
            ["2 attention heads do not divide by the Ulysses degree 4"],
        ),
        # 32x48 pixels, 5 frames: 2 x 2 x 3 = 12 tokens, not a multiple of 8
        (
            "wan",
            [{"ulysses": 2, "ring": 4}],
            {"144p": [32, 48]},
            [
                "32x48, 5 frames is a sequence of 12 tokens, which does not divide by 8 ranks",
                "ring attention needs an attention kernel that returns its log-sum-exp",
            ],
        ),
    ],
)
def test_a_layout_that_cannot_run_is_refused_before_any_job(
    config, model, layouts, resolutions, fragments
):
    check_error(_parallel(config, layouts, model, resolutions), *fragments)


def test_models_without_a_plan_are_refused_naming_why(config):
    for model, why in ((COGVIDEOX, NO_PLAN["cogvideox"]), (LATTE, NO_PLAN["latte"])):
        case = _parallel(copy.deepcopy(config), [{"ulysses": 2}])
        case["models"]["wan"]["options"] = {"model": model, "weights": "random"}
        case["models"]["wan"]["resolutions"] = {}
        case["grid"]["durations_s"] = [1.0 if model == COGVIDEOX else 2.0]
        check_error(case, f"model 'wan' (backend diffusers): {why}")


def test_the_parallel_grid_must_lie_in_the_grid(config):
    case = _parallel(config, [{"ulysses": 2}])
    case["parallel"]["grid"] = {"steps": [3]}
    check_error(case, "config key 'parallel.grid.steps': 3 not in grid.steps")


# -- merging the ranks' records --------------------------------------------------------------


def _rank_record(rank, gpu_j, cpu_j, cpu_device="cpu:host", status="ok", failed_at=None):
    windows = [
        {
            "name": "denoise",
            "start_s": 1.0 + rank,
            "duration_s": 2.0 + rank / 10,
            "energy_j": {"gpu": gpu_j, "cpu": cpu_j},
        },
        {
            "name": "decode",
            "start_s": 3.5 + rank,
            "duration_s": 0.5,
            "energy_j": {"gpu": gpu_j / 10, "cpu": cpu_j / 10},
        },
    ]
    return {
        "kind": "generate",
        "run_id": f"run{rank}",
        "rank": rank,
        "pid": 100 + rank,
        "hostname": "host",
        "status": status,
        "error": None if status == "ok" else "boom",
        "failed_at": failed_at,
        "device_id": f"gpu:GPU-{rank}",
        "device_names": {"gpu": "H200"},
        "windows": windows,
        "shared": {"gpu": None},
        "trace": [[1.5 + rank, "gpu", 300.0 + rank], [1.5 + rank, "cpu", 50.0]],
        "counters": {
            "gpu": {"device_id": f"gpu:GPU-{rank}", "device_wide": True},
            "cpu": {"device_id": cpu_device, "device_wide": cpu_device == "cpu:host"},
        },
    }


def test_the_cells_windows_add_each_device_once():
    merged = merge([_rank_record(0, 100.0, 10.0), _rank_record(1, 120.0, 10.0)], {})
    denoise = merged["windows"][0]
    # two GPUs summed; the RAPL package both ranks read counted once; the longest duration
    assert denoise["energy_j"] == {"gpu": 220.0, "cpu": 10.0}
    assert denoise["duration_s"] == 2.1 and merged["device_counts"] == {"gpu": 2, "cpu": 1}
    assert merged["status"] == "ok" and merged["failed_rank"] is None
    assert merged["device_id"] == "gpu:GPU-0,gpu:GPU-1" and "rank" not in merged
    # every GPU's samples on rank 0's clock (rank 1 began denoise 1 s later by its own)
    assert [s for s in merged["trace"] if s[1] == "gpu"] == [
        [1.5, "gpu", 300.0, 0],
        [1.5, "gpu", 301.0, 1],
    ]
    assert len([s for s in merged["trace"] if s[1] == "cpu"]) == 1
    # per-process CPU estimates are each the rank's own: summed
    own = merge([_rank_record(0, 100.0, 10.0, "cpu:a"), _rank_record(1, 120.0, 12.0, "cpu:a")], {})
    assert own["windows"][0]["energy_j"]["cpu"] == 22.0 and own["device_counts"]["cpu"] == 2
    rows = rank_rows({**merged, "cell_id": "c", "model": "m"})
    assert [r["denoise_gpu_energy_j"] for r in rows] == [100.0, 120.0]
    assert [round(r["energy_share"], 4) for r in rows] == [round(110 / 242, 4), round(132 / 242, 4)]


def test_the_idle_power_of_every_device_is_subtracted():
    merged = merge([_rank_record(0, 100.0, 10.0), _rank_record(1, 120.0, 10.0)], {})
    idle = {"idle_power_w": {"gpu": 50.0, "cpu": 5.0}}
    row = run_row({**merged, "cell_id": "c"}, {}, idle)
    assert row["idle_gpu_power_w"] == 100.0 and row["idle_cpu_power_w"] == 5.0
    assert row["denoise_net_energy_j"] == pytest.approx(230.0 - (100.0 + 5.0) * 2.1)


def test_the_rank_that_failed_first_is_named():
    ok, late = _rank_record(0, 1.0, 1.0), _rank_record(1, 1.0, 1.0, status="failed", failed_at=9.0)
    early = _rank_record(0, 1.0, 1.0, status="oom", failed_at=5.0)
    # both failed (the second lost its peer): the first one is the cause
    assert root_failure([early, late], {}) == 0
    merged = merge([early, late], {0: ("failed", "exit 1", 1), 1: ("failed", "exit 1", 1)})
    assert (merged["status"], merged["failed_rank"]) == ("oom", 0)
    assert merged["error"] == "rank 0 of 2 failed: boom"
    # a rank killed by a signal, its peer stopped by the launcher's SIGTERM
    killed = {
        1: ("killed", "worker terminated by SIGKILL", -9),
        0: ("killed", "worker terminated by SIGTERM", -15),
    }
    merged = merge([None, None], killed)
    assert (merged["status"], merged["failed_rank"]) == ("killed", 1)
    assert "rank 1 of 2 failed: worker terminated by SIGKILL" in merged["error"]
    assert [r["status"] for r in merged["ranks"]] == ["killed", "killed"]
    # the killed rank is the cause even when its peer wrote a failed record after it
    assert root_failure([late, None], {1: ("killed", "SIGKILL", -9)}) == 1
    assert root_failure([ok, ok], {}) is None


# -- two ranks on the CPU --------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """The tiny Wan's embeddings of one prompt and their (ok) encode record."""
    out = tmp_path_factory.mktemp("encoded")
    measurement = Measurement(device="cpu", cpu="auto")
    record = encode_prompt("diffusers", TINY_WAN, "a heron wading", out / "e.pt", measurement)
    (out / "e.json").write_text(json.dumps(record))
    assert record["status"] == "ok"
    return out


def generate(encoded, out: Path, ulysses: int, device="cpu", env=None, monkeypatch=None):
    cell = Cell("wan", "p0123456789", "144p", 5, 3, 0, (32, 48), ulysses=ulysses)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    return jobs.generate(
        cell,
        "diffusers",
        TINY_WAN,
        8,
        1,
        {"device": device, "trace_interval_s": 0.01, "cpu": "auto"},
        str(encoded / "e.pt"),
        str(encoded / "e.json"),
        str(out / f"u{ulysses}.mp4"),
        str(out / f"u{ulysses}.json"),
        str(out / f"u{ulysses}.log"),
    )


def _rank_processes(wait_s: float = 2.0) -> list[int]:
    """Processes of a parallel cell still running (launcher or rank) after up to `wait_s`
    (a process killed by the kernel takes a moment to go)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if proc.name.isdigit() and b"vidcarbon.process.ranks" in cmdline:
                found.append(int(proc.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_two_ranks_make_the_same_video_and_add_their_energy(encoded, tmp_path):
    one = generate(encoded, tmp_path, 1)
    two = generate(encoded, tmp_path, 2)
    assert one["status"] == two["status"] == "ok", two.get("error")
    video_one = read_mp4(tmp_path / "u1.mp4").astype(np.float64) / 255
    video_two = read_mp4(tmp_path / "u2.mp4").astype(np.float64) / 255
    assert np.abs(video_one - video_two).max() <= 1e-5
    assert (two["gpus"], two["ulysses_degree"], two["world_size"]) == (2, 2, 2)
    # the CPU-time estimate is per process: the cell's is the sum of the two ranks'
    ranks = two["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1] and len({r["pid"] for r in ranks}) == 2
    for window in two["windows"]:
        per_rank = [next(w for w in r["windows"] if w["name"] == window["name"]) for r in ranks]
        assert window["energy_j"]["cpu"] == pytest.approx(
            sum(w["energy_j"]["cpu"] for w in per_rank)
        )
        assert window["duration_s"] == max(w["duration_s"] for w in per_rank)
    assert two["device_counts"] == {"cpu": 2}
    names = {w["name"] for w in two["windows"]}
    assert names == {"load", "warmup", "denoise", "step_0", "step_1", "step_2", "decode"}
    assert not _rank_processes()
    assert not list(tmp_path.glob("*.rank*.json"))  # the ranks' records went with the job


def test_each_rank_reads_its_own_gpu(encoded, tmp_path, monkeypatch):
    """With fake GPUs 0 and 1 (NVML's interface): the cell's GPU energy is both GPUs', the
    host's RAPL package is counted once, and neither rank counts the other as sharing."""
    env = {fake_devices.ENV: str(tmp_path / "devices"), "CUDA_VISIBLE_DEVICES": "0,1"}
    two = generate(encoded, tmp_path, 2, device="cuda", env=env, monkeypatch=monkeypatch)
    assert two["status"] == "ok", two.get("error")
    assert two["device_counts"] == {"gpu": 2, "cpu": 1, "dram": 1}
    assert [r["device_id"].rsplit("-", 1)[1] for r in two["ranks"]] == ["0", "1"]
    denoise = next(w for w in two["windows"] if w["name"] == "denoise")
    per_rank = [next(w for w in r["windows"] if w["name"] == "denoise") for r in two["ranks"]]
    assert denoise["energy_j"]["gpu"] == sum(w["energy_j"]["gpu"] for w in per_rank)
    assert denoise["energy_j"]["cpu"] == per_rank[0]["energy_j"]["cpu"]
    # each fake GPU draws idle + one active process over the window
    idle_w, active_w = fake_devices.GPU_W
    assert denoise["energy_j"]["gpu"] == pytest.approx(
        2 * (idle_w + active_w) * denoise["duration_s"], rel=0.2
    )
    assert not any(two["shared"].values()), two["shared"]


KILL_RANK_1 = """
import os, signal
if os.environ.get("RANK") == "1":
    from vidcarbon.energy import meter

    end_window = meter.Meter.end_window

    def {name}(self, name, *args, **kwargs):
        if name == "step_1":
            {action}
        return end_window(self, name, *args, **kwargs)

    meter.Meter.end_window = {name}
"""


def _inject(tmp_path, monkeypatch, action: str) -> None:
    """Rank 1 runs `action` at the end of its second denoising step: a sitecustomize on
    PYTHONPATH, which every process of the launch imports (the code under test is unchanged)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        textwrap.dedent(KILL_RANK_1.format(name="end_window_then_fail", action=action))
    )
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")


def test_a_killed_rank_ends_the_cell_naming_it(encoded, tmp_path, monkeypatch):
    _inject(tmp_path, monkeypatch, "os.kill(os.getpid(), signal.SIGKILL)")
    record = generate(encoded, tmp_path, 2)
    assert (record["status"], record["failed_rank"]) == ("killed", 1), record["error"]
    assert record["error"].startswith("rank 1 of 2 failed: worker terminated by SIGKILL")
    assert record["ranks"][1]["status"] == "killed"
    assert not _rank_processes()
    assert (tmp_path / "u2.mp4").stat().st_size == 0  # the placeholder, as for any failed cell
    row = run_row({**record, "cell_id": record["cell_id"]}, {}, {})
    assert (row["status"], row["failed_rank"]) == ("killed", 1)


def test_a_rank_that_raises_fails_the_cell_with_its_error(encoded, tmp_path, monkeypatch):
    _inject(tmp_path, monkeypatch, "raise MemoryError('no room on rank 1')")
    record = generate(encoded, tmp_path, 2)
    assert (record["status"], record["failed_rank"]) == ("oom", 1), record["error"]
    assert record["error"] == "rank 1 of 2 failed: MemoryError: no room on rank 1"
    assert not _rank_processes()


def test_too_few_gpus_fail_the_cell_before_any_rank_starts(encoded, tmp_path):
    """Here no GPU is visible at all (and no fake one stands in)."""
    record = generate(encoded, tmp_path, 2, device="cuda")
    assert record["status"] == "failed" and record["failed_rank"] is None
    assert record["error"].startswith("the cell runs on 2 GPUs but this node shows 0")


def test_a_killed_launcher_leaves_no_rank(encoded, tmp_path, monkeypatch):
    """The job's launcher killed (SLURM, the OOM killer): its ranks die with it."""
    _inject(
        tmp_path, monkeypatch, "os.kill(os.getppid(), signal.SIGKILL); import time; time.sleep(60)"
    )
    record = generate(encoded, tmp_path, 2)
    assert record["status"] == "killed" and "SIGKILL" in record["error"]
    assert not _rank_processes()
