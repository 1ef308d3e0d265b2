"""Presets: named sets of FitConfig defaults for a kind of data. Every field stays overridable."""

from __future__ import annotations

from .errors import known

PRESETS: dict[str, dict] = {
    "natural": {
        "description": "photos and other natural images: colour, translation and cutout augmentation",
        "fit": {"augment": "color,translation,cutout"},
    },
    "medical": {
        "description": "1-channel / 16-bit scans: intensity-preserving augmentation only (translation, cutout)",
        "fit": {"augment": "translation,cutout"},
    },
    "spectrogram": {
        "description": "audio folders as 1 s log-mel spectrograms (64 mels x 64 frames at 8/16 kHz): time shifts only",
        "fit": {"augment": "time", "duration": 1.024, "n_mels": 64},
    },
}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise known("preset", name, list(PRESETS))
    return PRESETS[name]
