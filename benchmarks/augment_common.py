"""Shared bits of the augmentation benchmarks: MNIST as (PIL, label) items and a generator trained on it."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import mnist_npz  # noqa: E402


def work_dir() -> Path:
    """A temporary folder removed when the script ends."""
    work = Path(tempfile.mkdtemp(prefix="ganaug-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return work


def mnist_items(work: Path) -> tuple[Path, list]:
    """The MNIST test set (``$GANAUG_DATA``) as an .npz in ``work`` and as a list of (PIL gray 28x28, int)."""
    from PIL import Image

    npz = mnist_npz(work / "mnist.npz", n_train=10000)
    with np.load(npz) as data:
        images, labels = data["train_images"], data["train_labels"].reshape(-1)
    return npz, [(Image.fromarray(x), int(y)) for x, y in zip(images, labels, strict=True)]


def mnist_model(work: Path, npz: Path, model: str | None, arch: str, steps: int, ch: int = 0) -> str:
    """``model`` if given, else a generator of ``arch`` (width ``ch``; 0 = the arch's default) trained ``steps``
    steps on MNIST."""
    if model:
        return model
    import ganaug

    options = {"ch": ch} if ch else {}
    run = ganaug.fit(npz, arch=arch, steps=steps, batch_size=64, out=work / "runs", progress=False, **options)
    return str(run.path)


def add_model_options(parser) -> None:
    parser.add_argument("--model", default=None, help="a ganaug model; default: train one here")
    parser.add_argument("--arch", default="dcgan", help="architecture to train when no --model is given")
    parser.add_argument("--ch", type=int, default=0, help="its base width; 0 = the architecture's default")
    parser.add_argument("--steps", type=int, default=20, help="training steps when no --model is given")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of the main process (DataLoader workers use 1)"
    )
