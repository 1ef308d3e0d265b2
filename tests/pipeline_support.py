"""Helpers shared by the pipeline tests: a tiny 2-class 28x28 generator trained once on BreastMNIST, and its data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_TRAINED: dict[str, Path] = {}


def breast_npz(shared_data: Path) -> Path:
    path = shared_data / "medmnist_breastmnist" / "breastmnist.npz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def breast_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of a tiny dcgan trained for 2 steps on BreastMNIST (classes "0", "1"), trained once per session."""
    if "breast" not in _TRAINED:
        import ganaug

        out = tmp_path_factory.mktemp("breast_run")
        run = ganaug.fit(
            breast_npz(shared_data),
            arch="dcgan",
            ch=8,
            latent_dim=16,
            batch_size=8,
            steps=2,
            out=out,
            name="breast",
            progress=False,
        )
        _TRAINED["breast"] = run.path
    return _TRAINED["breast"]


def breast_items(shared_data: Path, split: str = "train") -> list[tuple[Image.Image, int]]:
    """BreastMNIST as a plain list of (PIL gray 28x28, int label)."""
    with np.load(breast_npz(shared_data)) as npz:
        images, labels = npz[f"{split}_images"], npz[f"{split}_labels"].reshape(-1)
    return [(Image.fromarray(img), int(y)) for img, y in zip(images, labels, strict=True)]
