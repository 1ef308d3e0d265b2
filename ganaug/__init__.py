"""ganaug: class-conditional GANs as data augmentation.

``import ganaug`` is light: torch and the rest load when a function that needs them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__

__all__ = [
    "ClassBalancedDataset",
    "DataConfig",
    "DistillMixUp",
    "FitConfig",
    "GANAugment",
    "GANTranslate",
    "Generator",
    "GanaugError",
    "Run",
    "Sampler",
    "SyntheticMixDataset",
    "TransformedDataset",
    "Translator",
    "fit",
    "load_generator",
    "load_translator",
    "push_to_hub",
    "__version__",
]

_LAZY = {
    "fit": ("ganaug.fitting", "fit"),
    "Run": ("ganaug.fitting", "Run"),
    "load_generator": ("ganaug.hub.sources", "load_generator"),
    "push_to_hub": ("ganaug.hub.transfer", "push_to_hub"),
    "Generator": ("ganaug.generation.generator", "Generator"),
    "DataConfig": ("ganaug.config", "DataConfig"),
    "FitConfig": ("ganaug.config", "FitConfig"),
    "GanaugError": ("ganaug.errors", "GanaugError"),
    "GANAugment": ("ganaug.transforms.torchvision", "GANAugment"),
    "GANTranslate": ("ganaug.transforms.gan_translate", "GANTranslate"),
    "Translator": ("ganaug.translation.translator", "Translator"),
    "load_translator": ("ganaug.translation.translator", "load_translator"),
    "SyntheticMixDataset": ("ganaug.generation.datasets", "SyntheticMixDataset"),
    "ClassBalancedDataset": ("ganaug.generation.datasets", "ClassBalancedDataset"),
    "TransformedDataset": ("ganaug.generation.datasets", "TransformedDataset"),
    "Sampler": ("ganaug.generation.sampling", "Sampler"),
    "DistillMixUp": ("ganaug.evaluation.distill", "DistillMixUp"),
}

if TYPE_CHECKING:
    from .config import DataConfig, FitConfig
    from .errors import GanaugError
    from .evaluation.distill import DistillMixUp
    from .fitting import Run, fit
    from .generation.datasets import ClassBalancedDataset, SyntheticMixDataset, TransformedDataset
    from .generation.generator import Generator
    from .generation.sampling import Sampler
    from .hub.sources import load_generator
    from .hub.transfer import push_to_hub
    from .transforms.gan_translate import GANTranslate
    from .transforms.torchvision import GANAugment
    from .translation.translator import Translator, load_translator


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
