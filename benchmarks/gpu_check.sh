#!/usr/bin/env bash
# The GPU check: a pre-flight, then the real pipeline on one CUDA GPU in at most 7.5 minutes
# (docs/benchmarks.md). Exit status 0: every required part came back; 1: one did not; 2: the
# pre-flight failed.
#
#   bash benchmarks/gpu_check.sh --out DIR        on a GPU machine without network: installs
#                                                 the wheels in .whl/ (benchmarks/
#                                                 gpu_check_wheels.sh) into a throw-away target
#   bash benchmarks/gpu_check.sh --cpu --out DIR  the same parts with tiny models on this CPU
#   bash benchmarks/gpu_check.sh --dry-run        each part's DAG only (snakemake -n)
#   bash benchmarks/gpu_check.sh --preflight      the pre-flight alone (60 s at most)
#
# Other options: python3 benchmarks/gpu_check.py --help. PYTHON picks the interpreter
# (default: .venv/bin/python with --cpu or --dry-run where it exists, else python3).
set -euo pipefail
export GPU_CHECK_T0=${GPU_CHECK_T0:-$(date +%s.%N)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

gpu=1
for arg in "$@"; do
  case $arg in --cpu | --dry-run) gpu=0 ;; esac
done
if [[ -z ${PYTHON:-} ]]; then
  PYTHON=python3
  if [[ $gpu == 0 && -x .venv/bin/python ]]; then PYTHON=$repo/.venv/bin/python; fi
fi

site=${GPU_CHECK_SITE:-/tmp/vidcarbon-gpu-check-site}
if [[ $gpu == 1 ]] && compgen -G ".whl/*.whl" >/dev/null; then
  rm -rf "$site"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" .whl/*.whl
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
  echo "[gpu-check] $(ls .whl/*.whl | wc -l) wheels installed into $site in $SECONDS s"
fi
if ! "$PYTHON" -c "import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in ('snakemake', 'zeus', 'diffusers')))"; then
  echo "gpu_check: $PYTHON cannot import snakemake, zeus and diffusers; on a machine without" \
    "network, carry the pinned wheels: bash benchmarks/gpu_check_wheels.sh, then name .whl" \
    "in the carry list" >&2
  exit 2
fi
export PYTHONPATH=$repo/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
if [[ $gpu == 1 ]]; then
  # nothing is fetched: random weights of embedded architectures; fail fast, not by timeout
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  # the warm worker forks jobs from a process that imported torch: any CUDA query there must
  # not initialise the driver (NVML answers instead), or the forked jobs cannot use the GPU
  export PYTORCH_NVML_BASED_CUDA_CHECK=1
fi
exec "$PYTHON" benchmarks/gpu_check.py "$@"
