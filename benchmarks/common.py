"""Shared bits of the benchmark scripts: where the real data is, and small measuring helpers."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """``$GANAUG_DATA`` or ``../shared/data`` next to the repository."""
    path = Path(os.environ.get("GANAUG_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        raise SystemExit(f"datasets not found at {path}; set GANAUG_DATA")
    return path


def mnist_npz(out: Path, n_train: int = 8000) -> Path:
    """Write the MNIST test set (IDX) as a MedMNIST-style .npz: first ``n_train`` for train, the rest for test."""
    root = shared_data() / "mnist_t10k"
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8).astype(np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        train_images=images[:n_train],
        train_labels=labels[:n_train, None],
        test_images=images[n_train:],
        test_labels=labels[n_train:, None],
    )
    return out


def fsdd_split(recordings: Path) -> tuple[list[Path], list[Path]]:
    """FSDD's official split of ``recordings/*.wav``: (train, test), recordings 0-4 of each speaker and digit are the
    test set, 5-49 the training set."""
    files = sorted(recordings.glob("*.wav"))
    test = [f for f in files if int(f.stem.split("_")[2]) < 5]
    train = [f for f in files if int(f.stem.split("_")[2]) >= 5]
    return train, test


def fsdd_split_csvs(out: Path) -> tuple[Path, Path, Path]:
    """FSDD's official split (:func:`fsdd_split`) as label CSVs (file,digit). Returns (recordings folder, train.csv,
    test.csv)."""
    import csv

    recordings = shared_data() / "fsdd" / "recordings"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, files in zip(("train", "test"), fsdd_split(recordings), strict=True):
        path = out / f"fsdd_{split}.csv"
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerows((f.name, f.name.split("_")[0]) for f in files)
        paths.append(path)
    return recordings, paths[0], paths[1]
