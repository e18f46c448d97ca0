"""YAML text parsed safely, with libyaml's C parser where PyYAML was built with it (about ten
times faster than the pure-Python one). The config, its schema and the hardware and
architecture files are parsed at every Snakemake start, one per SLURM job included."""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`, faster; a syntax error raises yaml.MarkedYAMLError as it does."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
