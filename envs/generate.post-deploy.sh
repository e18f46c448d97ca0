#!/usr/bin/env bash
# Run by Snakemake after it creates envs/generate.yaml's env (with that env active).
# flash-attn compiles against the installed torch, so it cannot go in the YAML's pip list
# (pip's build isolation would not see torch). Needs nvcc on the node that builds the env; where
# it fails, generation falls back to xformers or PyTorch SDPA and records which one ran.
set -euo pipefail
python -m pip install --no-build-isolation "flash-attn>=2.6,<3" \
  || echo "flash-attn not built; attention falls back to xformers/SDPA" >&2
