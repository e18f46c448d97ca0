#!/usr/bin/env bash
# Run by Snakemake after it creates envs/quality.yaml's env (with that env active).
set -euo pipefail
python -m pip install --no-deps vbench==0.1.5
