"""Modalities: the kinds of sample a generator makes (``DataConfig.modality``), one object per kind, registered by name.

A modality carries what the rest of the package does differently for its samples: how ``GANAugment`` turns a
generated sample into the user's output, which handling after reading applies (scan windows and 16-bit ranges for
images, log-mel settings and their card notes for spectrograms), the Hub pipeline tag and the model card's usage
section. Sample grids draw every modality the same way (a spectrogram is a one-channel image). Code asks the
modality (:func:`modality_of`), never its name.

Example:
    >>> modality_of({"modality": "spectrogram"}).features_like_input
    True
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import known

CardUse = Callable[[str, str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Modality:
    """One kind of sample and what the package does differently for it.

    Example:
        >>> Modality("depth", "depth maps", False, True, False, False, image_use)
        Modality(name='depth', ...)
    """

    name: str
    description: str
    # GANAugment's output: features shaped like the input tensor (..., n_mels, time) in its normalisation (True), or
    # an image rendered in the input's type, size, channels, dtype and value range (False)
    features_like_input: bool
    image_pipeline: bool  # the Hub's image pipeline tags (unconditional-image-generation, image-to-image) apply
    scan_handling: bool  # the scan handling of a scans preset (16-bit range, gray-as-RGB) applies after reading
    spectrogram_settings: bool  # DataConfig.extra holds log-mel settings: LogMel, `sample --audio`, the card's notes
    card_use: CardUse  # the card's "Use" section: (source, first class, data description) -> lines

    def __repr__(self) -> str:
        return f"Modality(name={self.name!r}, ...)"


MODALITIES: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Add ``modality`` under its name (the ``modality`` of a data description)."""
    MODALITIES[modality.name] = modality
    return modality


def get_modality(name: str) -> Modality:
    """The modality called ``name``; an unknown name is an error that lists the known ones."""
    if name not in MODALITIES:
        raise known("modality", name, list(MODALITIES))
    return MODALITIES[name]


def modality_of(data: Any) -> Modality:
    """The modality of a data description: a ``DataConfig``, or its dict (``image`` when the dict has none).

    Example:
        >>> modality_of({"height": 28}).name
        'image'
    """
    name = data.get("modality", "image") if isinstance(data, Mapping) else data.modality
    return get_modality(name)


def image_use(source: str, first: str, data: Mapping[str, Any]) -> list[str]:
    """The card's usage lines for an image model."""
    py_src, sh_src, sh_first = json.dumps(source), shlex.quote(source), shlex.quote(first)
    return [
        "```python",
        "import ganaug",
        "",
        f"g = ganaug.load_generator({py_src})",
        f'x = g.sample("{first}", n=16, seed=0)'.ljust(40)
        + f"# 16 x {data['channels']} x {data['height']} x {data['width']} in model space [-1, 1]",
        "arrays = g.to_data(x)".ljust(40) + "# 16 x H x W x C in the data's dtype and value range",
        "```",
        "",
        "In a torchvision pipeline, `GANAugment` replaces an `(image, label)` pair's image, with probability `p`, by",
        "a synthetic image of the same class, type, size, channels, dtype and value range; the label passes through:",
        "",
        "```python",
        "import torch",
        "from torchvision.transforms import v2",
        "",
        "augment = v2.Compose([",
        f"    ganaug.GANAugment({py_src}, p=0.3),",
        "    v2.ToImage(),",
        "    v2.ToDtype(torch.float32, scale=True),",
        "])",
        "image, label = augment(image, label)",
        "",
        f"mixed = ganaug.SyntheticMixDataset(train_set, {py_src}, ratio=0.25)  # or ClassBalancedDataset",
        "```",
        "",
        "```bash",
        f"ganaug sample {sh_src} --class {sh_first} --n 16 --out grid.png",
        f"ganaug balance DATA {sh_src} --out balanced/   # top up minority classes, marked in a manifest",
        "```",
    ]


def audio_use(source: str, first: str, data: Mapping[str, Any]) -> list[str]:
    """The card's usage lines for a spectrogram model: features, spectrogram and waveform augmentation, listening."""
    py_src, sh_src, sh_first = json.dumps(source), shlex.quote(source), shlex.quote(first)
    shape = f"{data['height']} mels x {data['width']} frames"
    return [
        "A classifier must compute its features with the model's own log-mel settings (see Notes):",
        "",
        "```python",
        "import ganaug",
        "from ganaug.generation.spectrograms import GANAugmentWaveform, LogMel, check_settings",
        "",
        f"features = LogMel({py_src})".ljust(48) + "# waveform (..., time) -> log-mel (..., n_mels, frames)",
        f"check_settings({py_src}, my_mel_transform)".ljust(48) + "# refuses other n_mels, hop, rate, ...",
        "",
        f"spec_aug = ganaug.GANAugment({py_src}, p=0.3)".ljust(48) + f"# on tensors (..., n_mels, time); {shape}",
        "spec, label = spec_aug(features(waveform), label)",
        "",
        f"wave_aug = GANAugmentWaveform({py_src}, p=0.3)".ljust(48) + "# on waveforms, for pipelines of audio",
        "waveform, label = wave_aug(waveform, label)",
        "```",
        "",
        "```bash",
        f"ganaug sample {sh_src} --class {sh_first} --n 4 --audio --out clips/   # wav files (Griffin-Lim) to hear",
        "```",
    ]


register(
    Modality(
        "image",
        "images: rendered in the type, size, channels, dtype and value range of the data",
        features_like_input=False,
        image_pipeline=True,
        scan_handling=True,
        spectrogram_settings=False,
        card_use=image_use,
    )
)
register(
    Modality(
        "spectrogram",
        "log-mel spectrograms of audio clips: float tensors (..., n_mels, time) in the classifier's normalisation",
        features_like_input=True,
        image_pipeline=False,
        scan_handling=False,
        spectrogram_settings=True,
        card_use=audio_use,
    )
)
