"""GANAugment in a torchvision pipeline, SyntheticMixDataset and ClassBalancedDataset in a DataLoader.

    python examples/augment_pipeline.py [--model MODEL] [--work DIR] [--images N] [--steps N]

Writes a small imbalanced class folder of coloured shapes, trains a tiny generator on it (or uses --model, whose
class names then name the folder's classes), and runs it three ways with DataLoader(num_workers=2).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

import ganaug


def write_shapes(root: Path, classes: list[str], per_class: int, size: int) -> Path:
    """``root/<class>/<n>.png``: class k is a disc of colour k; class k holds per_class / (k + 1) images."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(max(2, per_class // (k + 1))):
            image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 60, 3)))
            r = rng.uniform(0.2, 0.4) * size
            cx, cy = rng.uniform(r, size - r, 2)
            colour = tuple(int(v) for v in (80 + 170 * np.roll([1, 0, 0], k)))
            ImageDraw.Draw(image).ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
            image.save(root / name / f"{i:04d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a trained ganaug model; default: train a tiny one here")
    parser.add_argument("--work", default=None, help="folder for the data and the run [default: a temp folder]")
    parser.add_argument("--images", type=int, default=60, help="images of the largest class")
    parser.add_argument("--steps", type=int, default=200, help="training steps when no --model is given")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="ganaug-example-"))
    if not args.work:
        print(f"working folder: {work} (the data, the run and its outputs; delete it when done, or pass --work DIR)")

    classes = ganaug.load_generator(args.model).class_names if args.model else ["red", "green", "blue"]
    data = write_shapes(work / "shapes", classes, args.images, size=16)
    model = (
        args.model or ganaug.fit(data, arch="dcgan", ch=16, steps=args.steps, out=work / "runs", progress=False).path
    )

    # 1. GANAugment in a torchvision v2 pipeline; TransformedDataset hands it (image, label) pairs.
    pipeline = v2.Compose(
        [
            ganaug.GANAugment(model, p=0.5),
            v2.RandomHorizontalFlip(),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )
    train = ganaug.TransformedDataset(ImageFolder(data), pipeline)
    for images, labels in DataLoader(train, batch_size=16, shuffle=True, num_workers=2):
        print(
            f"batch: {tuple(images.shape)} {images.dtype} in [{images.min():.2f}, {images.max():.2f}], "
            f"labels {labels.tolist()[:8]}..."
        )
        break

    # 2. Real images plus half as many synthetic ones, flagged.
    to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    mixed = ganaug.SyntheticMixDataset(ImageFolder(data), model, ratio=0.5, return_flag=True, transform=to_tensor)
    synthetic = sum(int(flags.sum()) for _, _, flags in DataLoader(mixed, batch_size=32, num_workers=2))
    print(f"mixed: {len(mixed)} items, {synthetic} synthetic")

    # 3. Every class topped up to the largest one.
    balanced = ganaug.ClassBalancedDataset(ImageFolder(data), model, target="max", transform=to_tensor)
    print(f"balanced: real {balanced.real_counts}, added {balanced.added}, {len(balanced)} items")


if __name__ == "__main__":
    main()
