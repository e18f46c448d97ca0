#!/usr/bin/env bash
# Download exactly the wheels of benchmarks/gpu_check_wheels.txt for the GPU machine (CPython
# 3.12, x86-64 manylinux) into .whl/, and print their size and the working tree's, which
# travel together (limit 64 MiB; the wheels at most 56 MiB), and check that the set is closed
# (benchmarks/gpu_check_wheel_closure.py). Needs pip and PyPI.
#   bash benchmarks/gpu_check_wheels.sh [--python-version 3.12] [--dest .whl]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
version=3.12 dest=.whl
while [[ $# -gt 0 ]]; do
  case $1 in
    --python-version) version=$2; shift 2 ;;
    --dest) dest=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python=${PYTHON:-python3}
[[ -x .venv/bin/python && -z ${PYTHON:-} ]] && python=.venv/bin/python
rm -rf "$dest" && mkdir -p "$dest"
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 \
  manylinux2010 manylinux1; do
  platforms+=(--platform "${tag}_x86_64")
done
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version "$version" \
  --implementation cp "${platforms[@]}" -d "$dest" -r benchmarks/gpu_check_wheels.txt
wanted=$(grep -cE '^[A-Za-z0-9]' benchmarks/gpu_check_wheels.txt)
got=$(ls "$dest"/*.whl | wc -l)
if [[ $wanted != "$got" ]]; then
  echo "expected $wanted wheels, found $got in $dest" >&2
  exit 1
fi
wheels=$(du -cb "$dest"/*.whl | tail -1 | cut -f1)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null \
  | grep total$ | awk '{s += $1} END {print s}')
mib() { echo "$1" | awk '{printf "%.1f MiB", $1 / 1048576}'; }
echo "$got wheels: $(mib "$wheels"); working tree: $(mib "$tree");" \
  "together: $(mib $((wheels + tree))) of 64 MiB"
# the results come back through the same 64 MiB: the wheels stay under 56 MiB
if ((wheels > 56 * 1048576)); then
  echo "the wheels take $(mib "$wheels"), over the 56 MiB that leaves room for the tree" \
    "and the results" >&2
  exit 1
fi
"${python}" benchmarks/gpu_check_wheel_closure.py --wheels "$dest"
