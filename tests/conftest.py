"""Shared fixtures: tiny labelled datasets written on the fly, and the real datasets in ../shared/data if present."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_CLASSES = {"circle": 6, "square": 4, "triangle": 2}


def make_image(
    rng: np.random.Generator, index: int, size=(8, 8), channels: int = 3, bits: int = 8, float_data: bool = False
) -> np.ndarray:
    """An H x W x C image whose mean colour depends on the class ``index`` (so a classifier can tell classes apart)."""
    h, w = size
    top = 255 if bits == 8 else 65535
    base = np.array([(index * 97 + 40 * c) % 200 + 30 for c in range(max(channels, 3))], np.float64)[:channels] / 255
    img = base * top + rng.normal(0, 0.05 * top, (h, w, channels))
    if channels == 4:
        img[..., 3] = top  # opaque
    if float_data:
        return (img / top).astype(np.float32)
    return np.clip(np.rint(img), 0, top).astype(np.uint8 if bits == 8 else np.uint16)


def save_image(path: Path, array: np.ndarray) -> Path:
    """Write an H x W x C array as ``path``'s format (png/jpg/bmp via Pillow, tif/tiff via tifffile, npy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    plane = array[..., 0] if array.shape[-1] == 1 else array
    if suffix == ".npy":
        np.save(path, plane)
    elif suffix in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, plane, photometric="minisblack" if array.shape[-1] == 1 else "rgb")
    elif array.dtype == np.uint16 and array.shape[-1] > 1:
        from ganaug.data.images import encode_png16

        path.write_bytes(encode_png16(array))
    else:
        Image.fromarray(plane).save(path)
    return path


def make_image_folder(
    root: Path,
    class_counts: dict[str, int] | None = None,
    size: tuple[int, int] = (8, 8),
    channels: int = 3,
    bits: int = 8,
    suffix: str = ".png",
    float_data: bool = False,
    seed: int = 0,
) -> Path:
    """Write ``root/<class>/<class>_NNN<suffix>`` images; returns ``root``."""
    rng = np.random.default_rng(seed)
    for index, (name, count) in enumerate((class_counts or TINY_CLASSES).items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = make_image(rng, index, size, channels, bits, float_data)
            save_image(root / name / f"{name}_{i:03d}{suffix}", img)
    return root


@pytest.fixture
def image_tools() -> SimpleNamespace:
    """The helpers ``make_image``, ``save_image`` and ``make_image_folder`` (conftest is not importable by tests)."""
    return SimpleNamespace(make_image=make_image, save_image=save_image, make_image_folder=make_image_folder)


@pytest.fixture
def image_folder_factory(tmp_path: Path) -> Callable[..., Path]:
    """``make(name="data", **kwargs)`` -> a class folder under tmp_path; kwargs as in ``make_image_folder``."""

    def make(name: str = "data", **kwargs) -> Path:
        return make_image_folder(tmp_path / name, **kwargs)

    return make


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """DATA/<class>/*.png: 8x8 RGB 8-bit PNGs, classes circle (6), square (4), triangle (2)."""
    return make_image_folder(tmp_path / "tiny_folder")


@pytest.fixture
def tiny_gray16_folder(tmp_path: Path) -> Path:
    """DATA/<class>/*.png: 8x8 gray 16-bit PNGs (values well above 255), classes a (5) and b (3)."""
    return make_image_folder(tmp_path / "tiny_gray16", {"a": 5, "b": 3}, channels=1, bits=16)


@pytest.fixture
def tiny_npz(tmp_path: Path) -> Path:
    """A MedMNIST-style .npz: 8x8 gray uint8; train 12 / val 4 / test 6 images, 2 classes, labels N x 1."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 12), ("val", 4), ("test", 6)):
        labels = np.arange(n) % 2
        arrays[f"{split}_images"] = np.stack([make_image(rng, int(k), channels=1)[..., 0] for k in labels])
        arrays[f"{split}_labels"] = labels.astype(np.uint8)[:, None]
    path = tmp_path / "tiny.npz"
    np.savez(path, **arrays)
    return path


@pytest.fixture
def tiny_hf_disk(tmp_path: Path) -> Path:
    """A saved (``save_to_disk``) ``datasets.Dataset``: image (Image) + label (ClassLabel cat/dog), 8x8 RGB, 6 rows."""
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(0)
    labels = [0, 1, 0, 1, 0, 1]
    images = [Image.fromarray(make_image(rng, k)) for k in labels]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["cat", "dog"])})
    ds = datasets.Dataset.from_dict({"image": images, "label": labels}, features=features)
    path = tmp_path / "tiny_hf"
    ds.save_to_disk(str(path))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets at ${GANAUG_DATA:-../shared/data} (relative to the repo root); skip if missing (fail on CI)."""
    path = Path(os.environ.get("GANAUG_DATA") or "../shared/data")
    path = path if path.is_absolute() else (REPO_ROOT / path).resolve()
    if not path.is_dir():
        message = f"shared datasets not found at {path} (set GANAUG_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _train_tiny(root: Path, classes: dict[str, int], channels: int, bits: int = 8) -> Path:
    """Train a tiny dcgan for a few steps on a generated class folder and return its run folder."""
    import ganaug

    folder = make_image_folder(root / "data", class_counts=classes, size=(8, 8), channels=channels, bits=bits)
    run = ganaug.fit(
        folder, arch="dcgan", ch=8, latent_dim=16, batch_size=8, steps=4, out=root / "runs", name="tiny", progress=False
    )
    return run.path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder (with export/) of a tiny 3-class RGB 8x8 conditional generator; classes circle/square/triangle."""
    return _train_tiny(tmp_path_factory.mktemp("tiny_rgb"), TINY_CLASSES, channels=3)


@pytest.fixture(scope="session")
def tiny_gray_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of a tiny 2-class gray 8x8 conditional generator (classes a, b)."""
    return _train_tiny(tmp_path_factory.mktemp("tiny_gray"), {"a": 4, "b": 4}, channels=1)
