"""Data readers: a class folder, a MedMNIST-style ``.npz`` or a Hugging Face dataset -> labelled model-space tensors.

Example:
    >>> data = read_data("DATA")  # doctest: +SKIP
    >>> data.images.shape, data.config.class_names  # doctest: +SKIP
    (torch.Size([546, 1, 28, 28]), ['0', '1'])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import DataConfig
from ..errors import GanaugError
from ..fileio import is_pickle_name
from .convert import IMAGE_SUFFIXES, read_image, to_data, to_model, write_sample

__all__ = [
    "ACCEPTED_DATA",
    "IMAGE_SUFFIXES",
    "LabelledData",
    "read_data",
    "read_image",
    "to_data",
    "to_model",
    "write_sample",
]

ACCEPTED_DATA = (
    "a folder with one subfolder per class (DATA/<class>/<file>), a MedMNIST-style .npz file "
    "(train_images, train_labels, ...), hf:NAME for a Hugging Face Hub dataset, "
    "or a folder written by the datasets library's save_to_disk"
)
HF_MARKERS = ("dataset_dict.json", "dataset_info.json", "state.json")


@dataclass
class LabelledData:
    """Images in model space ([-1, 1], N x C x H x W float32), int64 labels, and what the data is (DataConfig)."""

    images: torch.Tensor
    labels: torch.Tensor
    config: DataConfig
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def read_data(
    source: str | os.PathLike | Any,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
    **folder_options: Any,
) -> LabelledData:
    """Read labelled DATA (class folder, ``.npz``, ``hf:NAME`` or a ``save_to_disk`` folder) into model space.

    ``resolution`` is ``"auto"`` (the data's size, halved until <= 128), N or ``"HxW"``; ``channels=0`` keeps the
    data's most common channel count; ``split`` picks the ``.npz`` / Hugging Face split; ``skip_bad=True`` skips
    unreadable files (listed in ``skipped``) instead of raising. A ``datasets.Dataset`` object is accepted too.
    ``folder_options`` are for folders: ``labels``, ``label_pattern``, ``window`` and ``spectrogram`` (a dict of
    audio settings: read the folder's audio files, or a Hugging Face dataset's audio column, as log-mel
    spectrograms); see ``ganaug.data.options``.
    """
    opts = {"resolution": resolution, "channels": channels, "split": split, "skip_bad": skip_bad}
    if any(folder_options.values()):
        from .options import read_with_options

        return read_with_options(source, opts, folder_options)
    if not isinstance(source, (str, os.PathLike)):
        if hasattr(source, "features") and hasattr(source, "column_names"):
            from .hf import read_hf_dataset

            return read_hf_dataset(source, source=type(source).__name__, **opts)
        raise GanaugError(f"DATA must be a path or hf:NAME, not {type(source).__name__}; accepted: {ACCEPTED_DATA}")
    text = os.fspath(source)
    if text.startswith("hf:"):
        from .hf import read_hf

        return read_hf(text, **opts)
    path = Path(text).expanduser()
    if not path.exists():
        raise GanaugError(f"DATA {text!r} does not exist; accepted: {ACCEPTED_DATA}")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            from .npz import read_npz

            return read_npz(path, **opts)
        if is_pickle_name(path.name):
            raise GanaugError(
                f"DATA {text!r} is a {suffix} file; pickle-based files are not accepted because loading them can "
                f"run code. Accepted: {ACCEPTED_DATA}"
            )
        kind = suffix or "suffix-less"
        raise GanaugError(f"DATA {text!r} is a {kind} file, which is not accepted. Accepted: {ACCEPTED_DATA}")
    if any((path / marker).is_file() for marker in HF_MARKERS):
        from .hf import read_hf

        return read_hf(text, **opts)
    from .folder import read_folder

    return read_folder(path, **opts)
