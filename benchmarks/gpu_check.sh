#!/usr/bin/env bash
# One prepared GPU check: CUDA path with AMP (bf16, fp16 + grad scaler), torch.compile, throughput against a
# plain loop, and 2000-step fits on BreastMNIST and MNIST with their quality figures.
#   GANAUG_DATA=../shared/data OUT=/tmp/gpu bash benchmarks/gpu_check.sh [STEPS] [DEVICE]
set -u
STEPS=${1:-2000}
DEVICE=${2:-cuda}
OUT=${OUT:-/tmp/ganaug-gpu}
DATA=${GANAUG_DATA:-../shared/data}
PY=${PYTHON:-python3}
RUNS=/tmp/ganaug-gpu-runs
mkdir -p "$OUT" && rm -rf "$RUNS"
export PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1 GANAUG_DATA=$DATA PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
step() { echo "=== $*"; local t=$SECONDS; "$@" || echo "FAILED ($?): $*"; echo "--- $((SECONDS - t)) s"; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  BM=$DATA/medmnist_breastmnist/breastmnist.npz
  step $PY -m ganaug fit "$BM" --device "$DEVICE" --steps "$STEPS" --out $RUNS --name breast --quiet
  step $PY -m ganaug fit "$BM" --device "$DEVICE" --precision fp16 --steps 100 --out $RUNS --name fp16 --quiet
  step timeout 240 $PY -m ganaug fit "$BM" --device "$DEVICE" --compile --steps 100 --out $RUNS --name compiled --quiet
  step $PY benchmarks/fit_throughput.py --device "$DEVICE" --steps 200 --warmup 20
  step $PY benchmarks/fit_quality.py --dataset breastmnist --model $RUNS/breast --device "$DEVICE"
  step $PY benchmarks/fit_quality.py --dataset mnist --steps "$STEPS" --device "$DEVICE" --out $RUNS/mnist
  for f in $RUNS/*/log.jsonl; do echo "$f: $(tail -n 1 "$f")"; done
  grep -h '"train_seconds"\|"device_name"\|"precision"' $RUNS/*/export/config.json
} 2>&1 | tee "$OUT/log.txt"
cp $RUNS/breast/export/samples.png "$OUT/breast_samples.png" 2>/dev/null
cp $RUNS/breast/export/README.md "$OUT/breast_card.md" 2>/dev/null
cp $RUNS/breast/loss_curve.png "$OUT/breast_loss.png" 2>/dev/null
cp $RUNS/mnist/mnist/export/samples.png "$OUT/mnist_samples.png" 2>/dev/null
exit 0
