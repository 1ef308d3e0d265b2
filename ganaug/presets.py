"""Presets: what a kind of data needs, in one object per kind, registered by name.

A preset carries its ``FitConfig`` defaults (every one stays overridable) and the choices that depend on the kind of
data elsewhere in the package: how its files are read (audio as spectrograms, scans windowed), the classical
augmentation ``evaluate`` uses as a control, the CycleGAN jitter, the policies ``ganaug tune`` searches and the
caution its model card carries. Code asks the preset, never its name.

Example:
    >>> get_preset("medical").photometric_augmentation
    False
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .errors import known

NOT_FOR_DIAGNOSIS = (
    "- **Not for diagnosis.** Generated medical images are not images of real patients. They must not be",
    "  used for clinical decisions, shown as real cases, or used to validate a diagnostic system.",
    "- Synthetic images can contain artefacts that look like findings, or miss real ones; a model trained",
    "  with them must be validated on real, independent data.",
)


@dataclass(frozen=True)
class Preset:
    """One kind of data: its fit defaults and what the rest of the package does differently for it.

    Example:
        >>> Preset("x-ray", "chest radiographs", {"augment": "translation"}, tune_policies=("translation", "none"))
        Preset(name='x-ray', ...)
    """

    name: str
    description: str
    fit: dict = field(default_factory=dict)
    # on a CPU without --steps (a run a time budget ends): groups of cheaper fit defaults, each applied when the user
    # set none of its options, so that the budget trains a model worth using
    cpu_fit: tuple[dict, ...] = ()
    tune_policies: tuple[str, ...] = ("none",)
    photometric_augmentation: bool = True  # flips and brightness/contrast keep the label (evaluate's control)
    vertical_shifts: bool = True  # shifting rows keeps the label (evaluate's control; not a spectrogram's mel rows)
    cyclegan_jitter: bool = True  # CycleGAN's resize-crop-flip jitter suits the data
    audio: bool = False  # folders are audio clips, read as log-mel spectrograms
    scans: bool = False  # images are scans: intensity windows, 16-bit values, channel handling
    card_caution: tuple[str, ...] = ()  # lines the model card's limits section adds

    def __repr__(self) -> str:
        return f"Preset(name={self.name!r}, ...)"

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    """Add ``preset`` under its name (``--preset NAME``)."""
    PRESETS[preset.name] = preset
    return preset


register(
    Preset(
        "natural",
        "photos and other natural images: colour, translation and cutout augmentation",
        {"augment": "color,translation,cutout"},
        tune_policies=("color,translation,cutout", "translation,cutout", "translation", "none"),
    )
)
register(
    Preset(
        "medical",
        "1-channel / 16-bit scans: intensity-preserving augmentation only (translation, cutout)",
        {"augment": "translation,cutout"},
        tune_policies=("translation,cutout", "translation", "cutout", "none"),
        photometric_augmentation=False,
        cyclegan_jitter=False,
        scans=True,
        card_caution=NOT_FOR_DIAGNOSIS,
    )
)
register(
    Preset(
        "spectrogram",
        "audio folders as 1 s log-mel spectrograms, 64 mels x 64 frames (32 x 32 on a CPU): time shifts only",
        {"augment": "time", "duration": 1.024, "n_mels": 64},
        cpu_fit=({"n_mels": 32, "frames": 32, "hop_length": 0}, {"arch": "dcgan", "ch": 32}),
        tune_policies=("time", "none"),
        photometric_augmentation=False,
        vertical_shifts=False,
        cyclegan_jitter=False,
        audio=True,
    )
)


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is an error that lists the known ones."""
    if name not in PRESETS:
        raise known("preset", name, list(PRESETS))
    return PRESETS[name]


def preset_of(training: dict) -> Preset:
    """The preset a saved config was fitted with (its ``training.preset``; ``natural`` when absent or unknown)."""
    return PRESETS.get(str(training.get("preset") or "natural"), PRESETS["natural"])
