#!/usr/bin/env bash
# Run by Snakemake after it creates envs/opensora-v1.2.yaml's env (with that env active).
# flash-attn and apex compile against the env's torch (Open-Sora's README: "Install Acceleration
# Tools"); they back the options enable_flash_attn / enable_layernorm_kernel. apex publishes no
# releases, so its default branch is built.
set -euo pipefail
python -m pip install packaging ninja
python -m pip install --no-build-isolation flash-attn==2.5.8
python -m pip install -v --disable-pip-version-check --no-cache-dir --no-build-isolation \
  --config-settings "--build-option=--cpp_ext" --config-settings "--build-option=--cuda_ext" \
  git+https://github.com/NVIDIA/apex.git
