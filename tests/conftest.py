"""Shared fixtures: the repository paths and a throw-away Snakemake working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def small_config(prompts_file: str = "config/prompts/test.txt") -> dict:
    """A config that exercises every rule in seconds: 1 model, tiny shapes, short idle."""
    return {
        "device": "cpu",
        "prompts": prompts_file,
        "fps": 8,
        "hardware": "config/hardware.yaml",
        "models": {"latte-tiny": {"backend": "latte-tiny", "options": {}}},
        "grid": {"steps": [1, 2], "resolutions": ["144p"], "durations_s": [0.5], "seeds": [0]},
        "measurement": {
            "warmup_steps": 1,
            "trace_interval_s": 0.05,
            "idle_duration_s": 0.2,
            "cpu": "auto",
        },
    }


class Workdir:
    """A Snakemake working directory with its own config/, run against the repo's Snakefile."""

    def __init__(self, path: Path):
        self.path = path
        (path / "config" / "prompts").mkdir(parents=True)
        shutil.copy(REPO / "config" / "hardware.yaml", path / "config" / "hardware.yaml")

    def write_prompts(self, lines: list[str], name: str = "test.txt") -> None:
        (self.path / "config" / "prompts" / name).write_text("\n".join(lines) + "\n")

    def write_config(self, config: dict) -> None:
        (self.path / "config" / "config.yaml").write_text(yaml.safe_dump(config))

    def snakemake(self, *args: str, env: dict | None = None, check: bool = True, timeout=600):
        cmd = [SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(self.path), "--cores", "2", *args]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc


@pytest.fixture
def workdir(tmp_path) -> Workdir:
    return Workdir(tmp_path)


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache (what HF_HUB_CACHE names for the jobs); no network."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def cache_snapshot(cache: Path, repo: str, *saveables, weights: bool = True) -> str:
    """Write the hub cache layout of `repo` (models--org--name/snapshots/<commit> and
    refs/main) with each object's save_pretrained output; the commit. `weights=False` drops
    the *.safetensors files (a snapshot fetched for random weights)."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / revision
    for saveable in saveables:
        saveable.save_pretrained(snapshot)
    if not weights:
        for path in snapshot.rglob("*.safetensors"):
            path.unlink()
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return revision
