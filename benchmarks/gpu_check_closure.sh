#!/usr/bin/env bash
# Before spending GPU time: does the check import anything that neither the GPU machine nor
# the carried wheels provide? Rebuilds the machine's relevant packages (gpu_machine_packages.txt,
# exactly those, --no-deps) in a fresh venv on this Python, installs the carried wheels (the
# same versions, built for this Python) into a throw-away target as the GPU run does, and runs
# the check's CPU mode there. About 2 minutes and 2 GB of disk; needs PyPI.
#   bash benchmarks/gpu_check_closure.sh [VENV_DIR]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv=${1:-${TMPDIR:-/tmp}/vidcarbon-gpu-machine}
version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

rm -rf "$venv" && python3 -m venv "$venv"
# the machine's known versions win over constraints.txt's
pinned=$(grep -oE '^[A-Za-z0-9._-]+==' benchmarks/gpu_machine_packages.txt | tr -d '=' \
  | sed -E 's/[-_.]/[-_.]/g' | paste -sd'|')
grep -viE "^($pinned)==" constraints.txt >"$venv/constraints.txt"
"$venv/bin/python" -m pip install -q --no-deps -c "$venv/constraints.txt" \
  -r benchmarks/gpu_machine_packages.txt

bash benchmarks/gpu_check_wheels.sh --python-version "$version" --dest "$venv/wheels"
"$venv/bin/python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$venv/carried" "$venv"/wheels/*.whl

PYTHON=$venv/bin/python PYTHONPATH=$venv/carried bash benchmarks/gpu_check.sh --cpu \
  --out "$venv/out" --work "$venv/work"
# the GPU-only imports the CPU mode does not reach: the meter's NVML layer and the references
PYTHONPATH=$venv/carried:src "$venv/bin/python" -c '
import pynvml, zeus.device, diffusers, imageio_ffmpeg, codecarbon.core.cpu
from diffusers import WanPipeline, CogVideoXPipeline, LattePipeline
from vidcarbon.energy.check import NvmlReference
print("closure: every module the GPU run imports is present")'
