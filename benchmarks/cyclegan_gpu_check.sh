#!/usr/bin/env bash
# One prepared GPU check of the CycleGAN task: bf16 and fp16 (grad scaler) fits, resume, translate on CUDA, and the
# throughput benchmark on CUDA, on generated 64x64 images (gray A, RGB B and C).
#   OUT=/tmp/cg-gpu bash benchmarks/cyclegan_gpu_check.sh
set -u
OUT=${OUT:-/tmp/cg-gpu}
W=/tmp/cg-gpu-work
PY=${PYTHON:-python3}
mkdir -p "$OUT" && rm -rf "$W" && mkdir -p "$W"
export PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
step() { echo "=== $*"; local t=$SECONDS; "$@" || echo "FAILED ($?): $*"; echo "--- $((SECONDS - t)) s"; }
{
  nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null
  $PY - "$W" <<'PYEOF'
import sys, numpy as np
from pathlib import Path
from PIL import Image
rng = np.random.default_rng(0)
for name, c in (("A", 1), ("B", 3), ("C", 3)):
    folder = Path(sys.argv[1]) / name
    folder.mkdir(parents=True)
    for i in range(24):
        a = rng.integers(0, 255, (64, 64, c), dtype=np.uint8)
        Image.fromarray(a[..., 0] if c == 1 else a).save(folder / f"{i:03d}.png")
PYEOF
  F="$PY -m ganaug fit --task cyclegan $W/A $W/B --resolution 64 --device cuda --quiet --out $W/runs --ch 32"
  step $F --steps 30 --name bf16
  step $F --steps 30 --name fp16 --precision fp16
  step $F --steps 15 --name half --checkpoint-every 15
  step $PY -m ganaug fit --resume $W/runs/half --steps 30 --quiet
  step $PY -m ganaug translate $W/runs/bf16 $W/A --out $W/translated --device cuda --quiet
  step $PY -m ganaug info $W/runs/fp16
  for f in $W/runs/*/log.jsonl; do echo "$f: $(tail -n 1 "$f")"; done
  step $PY benchmarks/cyclegan_throughput.py --data $W/B $W/C --steps 60 --warmup 10 --rounds 2 --threads 4
} 2>&1 | tee "$OUT/log.txt"
cp $W/runs/bf16/export/samples.png "$OUT/bf16_samples.png" 2>/dev/null
exit 0
