"""Which splits DATA holds, read from its index only (no images decoded): the ``--eval-split auto`` choice."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

VALIDATION_NAMES = ("val", "validation", "valid")


def split_names(source: Any) -> list[str]:
    """The splits of a ``.npz`` (its ``{split}_images`` keys), a ``save_to_disk`` folder (``dataset_dict.json``), a
    ``DatasetDict`` or ``hf:NAME`` (from the Hub's index; none when it cannot be reached); none for a folder of
    files or a single dataset.

    >>> split_names("data/breastmnist.npz")  # doctest: +SKIP
    ['test', 'train', 'val']
    """
    if not isinstance(source, (str, os.PathLike)):
        keys = getattr(source, "keys", None)
        return sorted(keys()) if callable(keys) and hasattr(source, "column_names") else []
    text = os.fspath(source)
    if text.startswith("hf:"):
        try:
            import datasets

            return list(datasets.get_dataset_split_names(text[3:].strip()))
        except Exception:  # offline, unknown name, no datasets library: no held-out split to offer
            return []
    path = Path(text).expanduser()
    if path.is_file() and path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                keys = set(npz.files)
        except (OSError, ValueError, EOFError):
            return []  # read_data names the problem with the file itself
        images = {k.removesuffix("_images") for k in keys if k.endswith("_images")}
        return sorted(name for name in images if f"{name}_labels" in keys)
    index = path / "dataset_dict.json"
    if path.is_dir() and index.is_file():
        try:
            return [str(s) for s in json.loads(index.read_text()).get("splits", [])]
        except (OSError, ValueError, AttributeError):
            return []
    return []


def held_out_split(source: Any, train_split: str) -> str:
    """The validation split of ``source`` other than ``train_split`` ("" when it has none).

    >>> held_out_split("data/breastmnist.npz", "train")  # doctest: +SKIP
    'val'
    """
    names = split_names(source)
    return next((n for n in VALIDATION_NAMES if n in names and n != train_split), "")
