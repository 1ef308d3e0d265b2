#!/usr/bin/env bash
# The two torchrun tests in a loop with the other core busy (a busy-loop process beside them), until one fails or
# N rounds passed; prints one line per round and "K of N rounds passed in a row". A rank that dies in native code
# prints its Python stack into the round's log; for the native stack, run with `ulimit -c unlimited` and read the
# core file with `gdb -batch -ex "thread apply all bt" .venv/bin/python CORE`.
#   bash benchmarks/torchrun_stress.sh [N] [OUT]
set -u
N=${1:-30}
OUT=${2:-/tmp/ganaug-torchrun-stress}
PY=${PYTHON:-.venv/bin/python}
TESTS="tests/test_cli.py::test_torchrun_two_processes_gloo tests/test_cyclegan.py::test_cli_torchrun_two_processes"
mkdir -p "$OUT"
export NO_ALBUMENTATIONS_UPDATE=1 OMP_NUM_THREADS=1
$PY -c "while True: pass" &
HOG=$!
trap 'kill $HOG 2>/dev/null' EXIT
passed=0
for i in $(seq 1 "$N"); do
  t=$SECONDS
  # shellcheck disable=SC2086
  $PY -m pytest -q -p no:cacheprovider $TESTS > "$OUT/round-$i.log" 2>&1
  rc=$?
  echo "round $i: rc $rc, $((SECONDS - t)) s, 'terminate called' $(grep -c 'terminate called' "$OUT/round-$i.log")"
  [ $rc -ne 0 ] && break
  passed=$i
done
echo "$passed of $N rounds passed in a row (logs in $OUT)"
[ "$passed" -eq "$N" ]
