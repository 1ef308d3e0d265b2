"""What the presets change around reading: reader options from a FitConfig, handling after reading, card facts.

Example:
    >>> from ganaug.config import FitConfig
    >>> reader_options(FitConfig(labels="labels.csv"))["labels"]
    'labels.csv'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..config import DataConfig, FitConfig
from ..errors import GanaugError
from ..modalities import modality_of
from ..presets import get_preset
from . import LabelledData

AUDIO_FIELDS = ("sample_rate", "duration", "n_fft", "hop_length", "frames", "n_mels", "f_min", "f_max")
AUDIO_OPTION = "spectrogram"  # the read_data option that carries log-mel settings: the data is audio


def reader_options(cfg: FitConfig) -> dict[str, Any]:
    """``read_data``'s folder options for a resolved FitConfig (audio settings only with the spectrogram preset)."""
    audio = {k: getattr(cfg, k) for k in AUDIO_FIELDS}
    spectrogram = None
    if get_preset(cfg.preset).audio:
        spectrogram = audio
    else:
        given = [f"--{k.replace('_', '-')}" for k, v in audio.items() if v]
        if given:
            raise GanaugError(f"{', '.join(given)} apply to audio; add --preset spectrogram (preset is {cfg.preset!r})")
    return {"labels": cfg.labels, "label_pattern": cfg.label_pattern, "window": cfg.window, AUDIO_OPTION: spectrogram}


def read_in_model_space(
    source: Any, data: DataConfig, *, split: str = "train", labels: str = "", label_pattern: str = ""
) -> LabelledData:
    """DATA read the way a model's own data was: at its size and channels, and for a spectrogram model as log-mel
    spectrograms with its saved audio settings and value range, so that real and synthetic samples share one scale.
    ``labels`` / ``label_pattern`` label a flat folder, as in ``ganaug fit``."""
    from . import read_data

    opts: dict[str, Any] = {"resolution": f"{data.height}x{data.width}", "channels": data.channels, "split": split}
    spectrogram = None
    if modality_of(data).spectrogram_settings:
        spectrogram = {k: data.extra.get(k) for k in AUDIO_FIELDS} | {"value_range": list(data.value_range)}
    return read_data(source, **opts, labels=labels, label_pattern=label_pattern, **{AUDIO_OPTION: spectrogram})


def read_with_options(source: Any, opts: dict, folder_options: dict) -> LabelledData:
    """``read_data`` for a folder with labels, a label pattern, a window or spectrogram settings."""
    known = {"labels", "label_pattern", "window", AUDIO_OPTION}
    unknown = sorted(set(folder_options) - known)
    if unknown:
        raise GanaugError(f"unknown read_data option(s) {unknown}; known: {', '.join(sorted(known))}")
    given = [k for k, v in folder_options.items() if v]
    text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else ""
    path = Path(text).expanduser() if text and not text.startswith("hf:") else None
    if folder_options.get(AUDIO_OPTION) and _is_hf(source, text, path):
        others = [f"--{k.replace('_', '-')}" for k in given if k != AUDIO_OPTION]
        if others:
            raise GanaugError(f"{', '.join(others)} apply to folders of files; a Hugging Face dataset has its labels")
        from .hf_audio import read_hf_audio

        return read_hf_audio(source, settings=folder_options[AUDIO_OPTION], **opts)
    if path is None or not path.is_dir():
        what = "does not exist" if path is not None and not path.exists() else "is not a folder"
        names = ", ".join("the spectrogram preset" if k == AUDIO_OPTION else f"--{k.replace('_', '-')}" for k in given)
        raise GanaugError(f"{names} read a folder of files, but DATA {text or type(source).__name__!r} {what}")
    options = {k: v for k, v in folder_options.items() if k != AUDIO_OPTION}
    if folder_options.get(AUDIO_OPTION):
        from .audio import read_audio_folder

        if options.get("window"):
            raise GanaugError("--window applies to DICOM/NIfTI images, not to audio")
        options.pop("window", None)
        return read_audio_folder(path, settings=folder_options[AUDIO_OPTION], **opts, **options)
    from .folder import read_folder

    return read_folder(path, **opts, **options)


def _is_hf(source: Any, text: str, path: Path | None) -> bool:
    """``hf:NAME``, a ``save_to_disk`` folder, or a ``datasets.Dataset`` object."""
    from . import HF_MARKERS

    if not text:
        return hasattr(source, "features") and hasattr(source, "column_names")
    return text.startswith("hf:") or (path is not None and any((path / m).is_file() for m in HF_MARKERS))


def after_reading(labelled: LabelledData, cfg: FitConfig) -> dict:
    """The preset's handling of read data (in place) and the model card's ``card`` section for config.json."""
    dc = labelled.config
    if get_preset(cfg.preset).scans:
        from .medical import prepare_medical

        labelled.images = prepare_medical(labelled.images, dc, cfg.channels, labelled.notes)
        if cfg.window:
            dc.extra = {**dc.extra, "window": cfg.window}
    from .medical import medmnist_card

    card = medmnist_card(dc.source, dc.class_names) if dc.format == "npz" else {}
    if cfg.class_meanings:
        card["classes"] = {**card.get("classes", {}), **parse_class_meanings(cfg.class_meanings, dc.class_names)}
    if modality_of(dc).spectrogram_settings:
        from .audio import card_notes

        card["notes"] = card_notes(dc)
    return card


def parse_class_meanings(value: str, class_names: list[str]) -> dict[str, str]:
    """``--class-meanings``: a JSON file ``{"class": "meaning"}`` or ``"a=meaning;b=meaning"``; keys are class names
    or indices. Unknown classes are an error listing the known ones."""
    text = value.strip()
    if text.lower().endswith(".json") or Path(text).is_file():
        try:
            raw = json.loads(Path(text).read_text(encoding="utf-8"))
        except OSError as exc:
            raise GanaugError(f"cannot read --class-meanings file {text!r}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise GanaugError(f"--class-meanings file {text!r} is not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or not all(isinstance(v, (str, int, float)) for v in raw.values()):
            raise GanaugError(f"--class-meanings file {text!r} must hold one object {{class: meaning}}")
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    else:
        pairs = []
        for part in (p for p in text.split(";") if p.strip()):
            key, sep, meaning = part.partition("=")
            if not sep or not key.strip() or not meaning.strip():
                raise GanaugError(
                    f"--class-meanings part {part.strip()!r} is not class=meaning; give 'a=...;b=...' or a JSON file"
                )
            pairs.append((key.strip(), meaning.strip()))
    out = {}
    for key, meaning in pairs:
        if key in class_names:
            out[key] = meaning
        elif key.isdigit() and int(key) < len(class_names):
            out[class_names[int(key)]] = meaning
        else:
            raise GanaugError(f"--class-meanings names class {key!r}, which the data does not have: {class_names}")
    return out
