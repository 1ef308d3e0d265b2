"""Modalities are registered objects: every one has every hook, code asks them instead of comparing names, and an
unknown modality is a clear error."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ganaug.config import DataConfig
from ganaug.errors import GanaugError
from ganaug.hub.card import render_card
from ganaug.modalities import MODALITIES, Modality, get_modality, modality_of

from .helpers import REPO

DATA = {"height": 64, "width": 64, "channels": 1, "dtype": "float32", "class_names": ["yes", "no"]}


def test_every_registered_modality_has_every_hook():
    assert {"image", "spectrogram"} <= set(MODALITIES)
    hooks = [f for f in dataclasses.fields(Modality) if f.name not in ("name", "description")]
    for name, modality in MODALITIES.items():
        assert modality.name == name and modality.description
        for hook in hooks:
            value = getattr(modality, hook.name)
            assert value is not None, (name, hook.name)
            if hook.name == "card_use":
                lines = value("path/to/export", "yes", DATA)
                assert lines and all(isinstance(line, str) for line in lines) and "```python" in lines
            else:
                assert isinstance(value, bool), (name, hook.name)
    assert modality_of(DataConfig(modality="spectrogram")) is get_modality("spectrogram")
    assert modality_of({}).name == "image"  # a data description written without one is an image's


def test_an_unknown_modality_is_an_error_naming_it_and_the_known_ones():
    with pytest.raises(GanaugError, match=r"unknown modality 'video'; known: image, spectrogram"):
        modality_of({"modality": "video"})
    with pytest.raises(GanaugError, match=r"modality='video' is not accepted; choose one of image, spectrogram"):
        DataConfig.from_dict({"modality": "video"})
    config = {"arch": "dcgan", "arch_args": {}, "data": {**DATA, "modality": "video"}}
    with pytest.raises(GanaugError, match="unknown modality 'video'"):
        render_card(config, "x")


def test_no_module_compares_a_modality_or_preset_name():
    names = "|".join(sorted({*MODALITIES, "natural", "medical"}))
    compared = re.compile(rf"""(==|!=|\bin\b)\s*\(?["']({names})["']|["']({names})["']\s*(==|!=)""")
    found = []
    for path in sorted((REPO / "ganaug").rglob("*.py")):
        if path.name in ("presets.py", "modalities.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            about = re.search(r"\b(modality|preset)\b", line)
            if about and (compared.search(line) or re.search(r"\b(modality|preset)\s*(==|!=)", line)):
                found.append(f"{Path(path).relative_to(REPO)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
