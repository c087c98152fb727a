#!/usr/bin/env bash
# On the GPU machine (no network): install the carried wheels and osig, then run the whole check.
#   bash benchmarks/gpu_check.sh [gpu_check.py flags]      (carry: wheels; results go to $OUT)
# Prepare the wheels on a machine with network first (the folder is git-ignored):
#   pip download textual textual-image textual-plotext setuptools wheel -d wheels/
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-runs/gpu_check}"
mkdir -p "$OUT"
if [ -d wheels ]; then
  pip install -q --no-index --find-links wheels textual textual-image textual-plotext || echo "wheels: install failed" >&2
fi
# build isolation finds setuptools in wheels/; without it, importing from the checkout works as well
pip install -q --no-index --find-links wheels --no-deps -e . \
  || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv > "$OUT/nvidia-smi.csv" 2>&1
python benchmarks/gpu_check.py --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_check.log"
check=${PIPESTATUS[0]}
if [ -z "${SKIP_TESTS:-}" ]; then  # the gpu-marked tests assert on the same checks (SKIP_TESTS=1: table only)
  python -m pytest tests/test_gpu.py -q -p no:xdist -p no:cacheprovider 2>&1 | tail -30 | tee "$OUT/test_gpu.log"
fi
exit "$check"
