"""The demo: fit a class-conditional GAN on scikit-learn's 8x8 digits with three classes made rare.

    python examples/demo_digits.py [--steps N] [--out runs]

Writes the digits as a class folder (demo_data/digits/<digit>/<n>.png), trains on it on the CPU in
about two minutes, and prints where the sample grid and the exported model are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

RARE = {"0": 20, "1": 20, "2": 20}  # classes cut down to this many images, to show an imbalanced set


def write_digits(folder: Path) -> dict[str, int]:
    """Write the digits as 8-bit PNGs, one folder per class; returns the count per class."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts: dict[str, int] = {}
    for image, label in zip(digits.images, digits.target, strict=True):
        name = str(label)
        if counts.get(name, 0) >= RARE.get(name, 10**9):
            continue
        out = folder / name / f"{counts.get(name, 0):04d}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * (255 / 16)).round().astype(np.uint8), mode="L").save(out)
        counts[name] = counts.get(name, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="training steps")
    parser.add_argument("--out", default="runs", help="folder for the run")
    parser.add_argument("--data", default="demo_data/digits", help="where to write the digits")
    args = parser.parse_args()

    import ganaug

    data = Path(args.data)
    counts = write_digits(data) if not data.exists() else None
    if counts:
        print("wrote", data, "with", ", ".join(f"{k}:{v}" for k, v in sorted(counts.items())))
    run = ganaug.fit(
        str(data),
        steps=args.steps,
        out=args.out,
        name="digits-demo",
        sample_every=250,
        checkpoint_every=500,
        command=f"python examples/demo_digits.py --steps {args.steps}",
    )
    print(f"sample grid (one row per digit): {run.export / 'samples.png'}")
    print(f"model (safetensors + config + card): {run.export}")
    print(f"try: ganaug sample {run.path} --class 0 --n 16 --out digit0.png")


if __name__ == "__main__":
    main()
