"""The conda envs for clusters (--sdm conda): never built here, so checked for what breaks them."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO
from vidcarbon.backends import conda_env

RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$")


def conda_directives() -> list[tuple[str, str]]:
    """(rule file, env path or function name) for every `conda:` directive."""
    found = []
    for path in RULE_FILES:
        for match in re.finditer(r'conda:\s*\n\s*("([^"]+)"|(\w+))', path.read_text()):
            found.append((path.name, match[2] or match[3]))
    return found


def test_every_rule_with_a_job_names_an_existing_env():
    directives = conda_directives()
    # `rule name:`, or `rule:` with a `name:` directive (rules defined in a loop)
    rules = sum(len(re.findall(r"^\s*rule( \w+)?:", p.read_text(), re.M)) for p in RULE_FILES)
    assert len(directives) == rules
    for rule_file, env in directives:
        if env == "generation_env":  # common.smk: "../../" + vidcarbon.backends.conda_env
            continue
        assert (REPO / "workflow" / "rules" / env).resolve().is_file(), (rule_file, env)


@pytest.mark.parametrize(
    "entry, env",
    [
        ({"backend": "latte-tiny", "options": {}}, "envs/generate.yaml"),
        ({"backend": "diffusers", "options": {"model": "x/y"}}, "envs/generate.yaml"),
        ({"backend": "opensora", "options": {"version": "1.1"}}, "envs/opensora.yaml"),
        ({"backend": "opensora", "options": {"version": "1.2"}}, "envs/opensora-v1.2.yaml"),
    ],
)
def test_generation_jobs_of_each_backend_get_their_env(entry, env):
    assert conda_env(entry) == env
    assert (REPO / env).is_file()


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_major_versions_and_has_no_relative_paths(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"][0] == "conda-forge"
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(re.fullmatch(r"python=3\.\d+", d) for d in conda_deps)
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    for line in pip:
        # Snakemake creates the env from a copy in .snakemake/conda/: relative paths break.
        assert not re.match(r"^-(e|r|c)\b|^\.", line), f"{env_file.name}: {line}"
        if line.startswith("--"):
            continue
        name, spec = REQUIREMENT.match(line.split("#")[0].strip()).groups()
        pinned = (
            re.search(r"==\s*\d+(\.\d+)*(\.\*|\.post\d+)?$", spec)
            or re.search(r"<=?\s*\d", spec)
            or re.fullmatch(r"@ git\+https://\S+@v[\d.]+", spec)  # a release tag
        )
        assert pinned, f"{env_file.name}: {name} has no upper bound on its major version"


def test_post_deploy_scripts_belong_to_an_env():
    for script in (REPO / "envs").glob("*.post-deploy.sh"):
        assert script.with_name(script.name.replace(".post-deploy.sh", ".yaml")).is_file()
