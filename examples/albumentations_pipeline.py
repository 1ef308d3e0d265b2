"""ganaug.transforms.albumentations.GANAugment in an albumentations pipeline, saved with A.to_dict and loaded back.

    python examples/albumentations_pipeline.py [--model MODEL] [--work DIR] [--images N] [--steps N]

Uses the coloured-shapes folder of augment_pipeline.py and a tiny generator trained on it (or --model).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import albumentations as A
import numpy as np
from albumentations.pytorch import ToTensorV2
from augment_pipeline import write_shapes  # the same small dataset
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder

import ganaug
from ganaug.transforms.albumentations import GANAugment  # registers the transform for A.from_dict


class AlbumentationsFolder(Dataset):
    """An ImageFolder whose images go through an albumentations pipeline that reads ``label``."""

    def __init__(self, root: Path, pipeline: A.Compose):
        self.folder, self.pipeline = ImageFolder(root), pipeline

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int):
        image, label = self.folder[i]
        out = self.pipeline(image=np.asarray(image), label=label)
        return out["image"], out["label"]


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

    pipeline = A.Compose(
        [GANAugment(str(model), p=0.5, mode="mix"), A.HorizontalFlip(p=0.5), A.ToFloat(), ToTensorV2()]
    )
    saved = work / "pipeline.json"
    saved.write_text(json.dumps(A.to_dict(pipeline), indent=2))
    restored = A.from_dict(json.loads(saved.read_text()))
    print(f"saved and restored: {restored.transforms[0]}")

    for images, _labels in DataLoader(AlbumentationsFolder(data, restored), batch_size=16, num_workers=2):
        print(f"batch: {tuple(images.shape)} {images.dtype} in [{images.min():.2f}, {images.max():.2f}]")
        break
    one = restored(image=np.asarray(Image.open(next(data.rglob("*.png")))), label=0)["image"]
    print(f"one image: {tuple(one.shape)} {one.dtype}")


if __name__ == "__main__":
    main()
