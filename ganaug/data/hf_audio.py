"""Hugging Face audio datasets -> log-mel spectrograms (the ``spectrogram`` preset on ``hf:NAME`` or a saved dataset).

The audio column (an ``Audio`` feature, or a column named audio/file/path) is read undecoded, as the bytes or path
each row stores, and decoded with soundfile like the files of an audio folder; ``datasets``' own audio decoding
(and its optional backends) is not needed. Labels come from a ClassLabel column or an integer label column.

Example:
    >>> data = read_hf_audio("hf:OWNER/speech-commands-subset", settings={"n_mels": 64})  # doctest: +SKIP
    >>> data.config.modality, data.images.shape[-2:]  # doctest: +SKIP
    ('spectrogram', torch.Size([64, 64]))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import GanaugError
from . import LabelledData
from .audio import AUDIO_TEXT, decode_audio, spectrogram_data
from .hf import _datasets, class_labels, find_columns, load_hf, pick_split

AUDIO_NAMES = ("audio", "file", "path")


def read_hf_audio(
    source: Any,
    *,
    settings: dict,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """``hf:NAME``, a ``save_to_disk`` folder or a ``datasets.Dataset`` with audio and class labels, as spectrograms."""
    datasets = _datasets()
    if channels not in (0, 1):
        raise GanaugError(f"channels={channels} is not accepted for spectrograms; they have 1 channel")
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        ds = load_hf(name, split)
    else:
        name, ds = type(source).__name__, source
    ds, siblings = pick_split(ds, name, split)
    column, label_col, class_names = find_columns(ds, name, datasets, datasets.Audio, AUDIO_NAMES, "audio")
    features = ds.features
    raw_labels, class_names = class_labels(ds, siblings, label_col, class_names, name, split)
    if isinstance(features[column], datasets.Audio):
        values = ds.cast_column(column, datasets.Audio(decode=False))[column]
    else:
        values = ds[column]
    decoded, skipped, notes = [], [], []
    for i, value in enumerate(values):
        row = f"{name}[{i}]"
        try:
            label, wave, rate = _decode_row(value, row)
        except GanaugError as exc:
            if not skip_bad:
                raise GanaugError(f"{exc}; fix the row or pass --skip-bad (skip_bad=True) to skip it") from exc
            skipped.append((row, str(exc)))
            continue
        decoded.append((label, wave, rate, int(raw_labels[i])))
    if not decoded:
        raise GanaugError(f"{name!r} (split {split!r}) has no readable audio rows; accepted: {AUDIO_TEXT}")
    empty = [class_names[c] for c in range(len(class_names)) if not any(d[3] == c for d in decoded)]
    if empty:
        notes.append(f"classes with no rows in split {split!r}: {', '.join(empty[:5])}")
    return spectrogram_data(
        decoded, class_names, settings, resolution=resolution, source=name, format="hf", notes=notes,
        skipped=skipped,
    )  # fmt: skip


def _decode_row(value: Any, row: str):
    """One row's audio: ``{"bytes", "path"}`` (an undecoded Audio feature) or a path; returns (name, wave, rate)."""
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        label = f"{row} ({Path(path).name})" if path else row
        if data:
            wave, rate = decode_audio(label, data)
            return label, wave, rate
        if path:
            if not Path(path).is_file():
                raise GanaugError(f"{row!r} points to {path!r}, which does not exist")
            wave, rate = decode_audio(path)
            return label, wave, rate
        raise GanaugError(f"{row!r} has no audio bytes and no path")
    if isinstance(value, str) and value:
        if not Path(value).is_file():
            raise GanaugError(f"{row!r} points to {value!r}, which does not exist")
        wave, rate = decode_audio(value)
        return f"{row} ({Path(value).name})", wave, rate
    raise GanaugError(f"{row!r} holds {type(value).__name__}, not audio; accepted: {AUDIO_TEXT}")
