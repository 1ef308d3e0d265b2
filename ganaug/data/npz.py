"""MedMNIST-style ``.npz`` reader: ``{split}_images`` (N x H x W [x C]) and ``{split}_labels`` (N or N x 1)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import GanaugError
from . import LabelledData
from .convert import assemble, check_class_indices
from .images import normalize_array


def read_npz(
    path: str | Path,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """Read one split of a MedMNIST-style ``.npz``; class names are the label values "0".."K-1"."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            image_key, label_key = f"{split}_images", f"{split}_labels"
            missing = [k for k in (image_key, label_key) if k not in keys]
            if missing:
                splits = sorted({k.rsplit("_", 1)[0] for k in keys if k.endswith(("_images", "_labels"))})
                raise GanaugError(
                    f"{str(path)!r} has no {' or '.join(repr(k) for k in missing)} (split={split!r}); "
                    f"keys found: {', '.join(keys) or 'none'}"
                    + (f"; splits found: {', '.join(splits)}" if splits else "")
                )
            images = npz[image_key]
            raw_labels = npz[label_key]
    except GanaugError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise GanaugError(f"cannot read {str(path)!r} as an .npz archive ({type(exc).__name__}: {exc})") from exc
    if images.ndim not in (3, 4):
        raise GanaugError(
            f"{image_key!r} in {str(path)!r} has shape {images.shape}; expected N x H x W or N x H x W x C"
        )
    labels = _labels(raw_labels, label_key, path)
    if len(labels) != len(images):
        raise GanaugError(
            f"{str(path)!r}: {image_key!r} holds {len(images)} images but {label_key!r} holds {len(labels)} labels"
        )
    if len(images) == 0:
        raise GanaugError(f"{str(path)!r}: split {split!r} is empty")
    samples = [normalize_array(a, f"{path}[{image_key}][{i}]") for i, a in enumerate(images)]
    num_classes = int(labels.max()) + 1
    notes: list[str] = []
    empty = [str(k) for k in range(num_classes) if not (labels == k).any()]
    if empty:
        notes.append(f"classes with no {split} samples: {', '.join(empty)}")
    out, labels_t, config = assemble(
        samples,
        labels,
        [str(k) for k in range(num_classes)],
        format="npz",
        source=str(path),
        resolution=resolution,
        channels=channels,
        notes=notes,
    )
    return LabelledData(images=out, labels=labels_t, config=config, skipped=[], notes=notes)


def _labels(raw: np.ndarray, key: str, path: Path) -> np.ndarray:
    labels = np.asarray(raw)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise GanaugError(
            f"{key!r} in {str(path)!r} has shape {labels.shape}; expected one class label per image (N or N x 1). "
            "Multi-label data is not supported"
        )
    if labels.dtype.kind == "f" and labels.size and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "ui":
        raise GanaugError(f"{key!r} in {str(path)!r} holds {labels.dtype} values; labels must be integers")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise GanaugError(f"{key!r} in {str(path)!r} holds negative labels ({int(labels.min())}); expected 0..K-1")
    check_class_indices(labels, f"{key!r} in {str(path)!r}")
    return labels
