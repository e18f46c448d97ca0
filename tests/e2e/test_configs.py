"""Which config a run reads: each shipped config plans exactly its own study, whatever
config/config.yaml holds, and errors in a config name the file, the line or the key."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from tests.conftest import REPO, small_config

pytestmark = pytest.mark.e2e

SHIPPED = sorted(p.name for p in (REPO / "config").glob("*.yaml") if p.name != "hardware.yaml")


def study_models(config: dict) -> dict[str, set[str]]:
    """The video models, LLMs and image models a config asks for."""
    return {
        "video": set(config["models"]),
        "llm": set((config.get("llm") or {}).get("models", {})),
        "image": set((config.get("image") or {}).get("models", {})),
    }


def planned_models(dry_run_output: str) -> dict[str, set[str]]:
    """The models whose outputs a `snakemake -n` plans."""
    patterns = {
        "video": r"results/videos/([^/\s]+)/",
        "llm": r"results/llm/requests/([^/\s]+)/",
        "image": r"results/images/([^/\s]+)/",
    }
    return {kind: set(re.findall(p, dry_run_output)) for kind, p in patterns.items()}


@pytest.fixture
def repo_configs(workdir):
    shutil.copytree(REPO / "config", workdir.path / "config", dirs_exist_ok=True)
    return workdir


def test_the_shipped_configs_are_the_ones_tested():
    assert SHIPPED == [
        "config.yaml",
        "levers-wan.yaml",
        "paper.yaml",
        "wan-parallel.yaml",
        "wan-random.yaml",
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_configfile_plans_exactly_its_own_models(repo_configs, name):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    # Snakemake resolves --configfile against the directory it is called from (not -d)
    proc = repo_configs.snakemake("-n", "--configfile", str(repo_configs.path / "config" / name))
    assert planned_models(proc.stdout) == study_models(config)
    assert f"vidcarbon: study '{config['study']}'" in proc.stderr.splitlines()[1]
    assert f"from config/{name}" in proc.stderr


def test_without_a_configfile_the_default_config_runs(repo_configs):
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    proc = repo_configs.snakemake("-n")
    assert planned_models(proc.stdout) == study_models(default)
    assert "vidcarbon: study 'cpu-toy'" in proc.stderr and "from config/config.yaml" in proc.stderr


def test_a_yaml_error_in_the_config_names_the_file_and_line(workdir):
    workdir.write_prompts(["a fox"])
    lines = yaml.safe_dump(small_config()).splitlines()
    line = lines.index("  steps:")
    lines[line] = "\tsteps:"  # a tab: the classic YAML mistake
    (workdir.path / "config" / "config.yaml").write_text("\n".join(lines) + "\n")
    proc = workdir.snakemake("-n", check=False)
    assert proc.returncode != 0
    # a dry run logs its errors to stdout; the words are libyaml's (PyYAML's own parser, where
    # PyYAML lacks libyaml: "found character '\\t' that cannot start any token")
    said = f"config/config.yaml, line {line + 1}, column 1: not valid YAML: "
    assert re.search(
        re.escape(said) + r".*(found a tab character|found character '\\t')", proc.stdout
    ), proc.stdout[-2000:]


def test_a_duration_without_a_whole_frame_count_is_refused(workdir):
    config = small_config()
    config["grid"]["durations_s"] = [0.5, 2.3]
    workdir.write_config(config)
    workdir.write_prompts(["a fox"])
    proc = workdir.snakemake("-n", check=False)
    assert proc.returncode != 0
    assert (
        "config key 'grid.durations_s[1]': 2.3 s at 8 fps is 18.4 frames, not a whole number; "
        "nearest: 2.25 s (18 frames) or 2.375 s (19 frames)"
    ) in proc.stdout + proc.stderr


def test_a_narrowed_grid_picks_its_references_and_says_so(repo_configs):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["grid"]["resolutions"] = ["144p"]
    repo_configs.write_config(config)
    # the levers' grid names a resolution: outside the grid it is an error, naming the key
    proc = repo_configs.snakemake("-n", check=False)
    assert "config key 'levers.grid.resolutions': 240p not in grid.resolutions (144p)" in (
        proc.stdout + proc.stderr
    )
    config["levers"]["grid"]["resolutions"] = ["144p"]
    repo_configs.write_config(config)
    proc = repo_configs.snakemake("-n")
    picked = (
        "vidcarbon: not set, picked from the grid: analysis.reference_resolution = 144p; "
        "carbon.credits.reference_resolution = 144p"
    )
    assert picked in proc.stderr
    # a choice outside the grid is still an error, naming the key
    config["carbon"]["credits"]["reference_resolution"] = "240p"
    repo_configs.write_config(config)
    proc = repo_configs.snakemake("-n", check=False)
    assert proc.returncode != 0
    assert (
        "config key 'carbon.credits.reference_resolution': '240p' is not in the grid "
        "(grid.resolutions: 144p)"
    ) in proc.stdout + proc.stderr
