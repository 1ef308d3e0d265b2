"""Hugging Face datasets reader: ``hf:NAME`` (the Hub or a builder name) or a folder written by ``save_to_disk``.

``datasets`` is imported inside the functions, so ``import ganaug`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GanaugError
from . import LabelledData
from .convert import assemble, check_class_indices
from .images import decode_image, normalize_array, pil_to_array, read_image

IMAGE_NAMES = ("image", "img", "pixel_values")
LABEL_NAMES = ("label", "labels", "class")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise GanaugError("reading Hugging Face datasets needs the datasets library: pip install 'ganaug[hf]'") from exc
    return datasets


def read_hf(
    source: str,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """``hf:NAME`` -> ``datasets.load_dataset(NAME, split=split)``; a path -> ``datasets.load_from_disk(path)``."""
    opts = {"resolution": resolution, "channels": channels, "split": split, "skip_bad": skip_bad}
    return read_hf_dataset(load_hf(source, split), source=source, **opts)


def load_hf(source: str, split: str) -> Any:
    """``hf:NAME`` -> ``datasets.load_dataset(NAME, split=split)``; a path -> ``datasets.load_from_disk(path)``."""
    datasets = _datasets()
    if source.startswith("hf:"):
        name = source[3:].strip()
        if not name:
            raise GanaugError("hf: needs a dataset name, e.g. hf:uoft-cs/cifar10")
        try:
            ds = datasets.load_dataset(name, split=split)
        except Exception as exc:  # network, unknown name, unknown split: all user-facing
            raise GanaugError(
                f"cannot load Hugging Face dataset {name!r} (split {split!r}): {type(exc).__name__}: {exc}"
            ) from exc
    else:
        try:
            ds = datasets.load_from_disk(str(Path(source).expanduser()))
        except Exception as exc:
            raise GanaugError(f"cannot load the saved dataset in {source!r}: {type(exc).__name__}: {exc}") from exc
    return ds


def pick_split(ds: Any, source: str, split: str) -> tuple[Any, list[Any]]:
    """The ``split`` of a ``DatasetDict`` (or the ``Dataset`` itself) and the other splits."""
    datasets = _datasets()
    siblings = []
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise GanaugError(f"{source!r} has no split {split!r}; splits found: {', '.join(ds) or 'none'}")
        siblings = [d for name, d in ds.items() if name != split]
        ds = ds[split]
    if not isinstance(ds, datasets.Dataset):
        raise GanaugError(f"{source!r} is a {type(ds).__name__}; a map-style datasets.Dataset is needed")
    return ds, siblings


def read_hf_dataset(
    ds: Any,
    *,
    source: str = "dataset",
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """Read a ``datasets.Dataset`` (or the ``split`` of a ``DatasetDict``) with an image and a class-label column."""
    datasets = _datasets()
    ds, siblings = pick_split(ds, source, split)
    image_col, label_col, class_names = find_columns(ds, source, datasets, datasets.Image, IMAGE_NAMES, "image")
    raw_labels, class_names = class_labels(ds, siblings, label_col, class_names, source, split)
    samples: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[tuple[str, str]] = []
    for i, value in enumerate(_column_values(ds, image_col, datasets)):
        name = f"{source}[{i}]"
        try:
            array = _decode_value(value, name)
        except GanaugError as exc:
            if not skip_bad:
                raise GanaugError(f"{exc}; fix the row or pass --skip-bad (skip_bad=True) to skip it") from exc
            skipped.append((name, str(exc)))
            continue
        samples.append(array)
        labels.append(int(raw_labels[i]))
    notes: list[str] = []
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable rows (listed in skipped)")
    images, labels_t, config = assemble(
        samples,
        labels,
        class_names,
        format="hf",
        source=source,
        resolution=resolution,
        channels=channels,
        notes=notes,
    )
    return LabelledData(images=images, labels=labels_t, config=config, skipped=skipped, notes=notes)


def class_labels(
    ds: Any, siblings: list[Any], label_col: str, class_names: list[str] | None, source: str, split: str
) -> tuple[np.ndarray, list[str]]:
    """The label column as integers, and the class names (ClassLabel names, else 0..K-1 over all splits)."""
    raw_labels = np.asarray(list(ds[label_col]))
    if raw_labels.ndim != 1 or raw_labels.dtype.kind not in "iu":
        raise GanaugError(f"label column {label_col!r} of {source!r} must hold one integer class per row")
    if raw_labels.size and raw_labels.min() < 0:
        raise GanaugError(
            f"label column {label_col!r} of {source!r} holds {int(raw_labels.min())} (unlabelled rows?); "
            f"use a labelled split instead of {split!r}"
        )
    if class_names is None:  # plain integer labels: K = 1 + the largest label in any split we can see
        check_class_indices(raw_labels, f"label column {label_col!r} of {source!r}")
        top = max([int(raw_labels.max()) if raw_labels.size else -1] + [_max_label(d, label_col) for d in siblings])
        class_names = [str(k) for k in range(top + 1)]
    return raw_labels, class_names


def find_label_column(ds: Any, source: str, datasets: Any, described: str) -> tuple[str, list[str] | None]:
    """A ClassLabel column (with its names), else an integer column named label/labels/class."""
    features = ds.features
    label_col = next((k for k, v in features.items() if isinstance(v, datasets.ClassLabel)), None)
    if label_col is not None:
        return label_col, list(features[label_col].names)
    for k in LABEL_NAMES:
        feature = features.get(k)
        if isinstance(feature, datasets.Value) and feature.dtype.startswith(("int", "uint")):
            return k, None
    raise GanaugError(
        f"{source!r} has no class-label column (a ClassLabel feature, or an integer column named "
        f"{'/'.join(LABEL_NAMES)}); columns: {described}"
    )


def find_columns(
    ds: Any, source: str, datasets: Any, feature: type, names: tuple[str, ...], what: str
) -> tuple[str, str, list[str] | None]:
    """The ``what`` column (a ``feature`` column, else one named in ``names``) and the class-label column."""
    features = ds.features
    described = ", ".join(f"{k} ({type(v).__name__})" for k, v in features.items())
    column = next((k for k, v in features.items() if isinstance(v, feature)), None)
    column = column or next((k for k in names if k in features), None)
    if column is None:
        raise GanaugError(
            f"{source!r} has no {what} column (an {feature.__name__} feature, or a column named {'/'.join(names)}); "
            f"columns: {described}"
        )
    label_col, class_names = find_label_column(ds, source, datasets, described)
    return column, label_col, class_names


def _max_label(ds: Any, column: str) -> int:
    try:
        values = np.asarray(list(ds[column]))
    except Exception:  # a split without the column: ignore it
        return -1
    return int(values.max()) if values.size and values.dtype.kind in "iu" else -1


def _column_values(ds: Any, column: str, datasets: Any):
    """The image column's raw values: {"bytes", "path"} dicts for Image features, numpy arrays otherwise."""
    if isinstance(ds.features[column], datasets.Image):
        return ds.cast_column(column, datasets.Image(decode=False))[column]
    return (row[column] for row in ds.with_format("numpy", columns=[column]))


def _decode_value(value: Any, name: str) -> np.ndarray:
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return decode_image(data, f"{name} ({path})" if path else name, suffix=Path(path or "").suffix)
        if path:
            return read_image(path)
        raise GanaugError(f"{name!r} has no image bytes and no path")
    if value is None:
        raise GanaugError(f"{name!r} has no image")
    if hasattr(value, "mode") and hasattr(value, "size"):  # a PIL image
        return normalize_array(pil_to_array(value), name)
    return normalize_array(np.asarray(value), name)
