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
    "load_generator": ("ganaug.model_sources", "load_generator"),
    "push_to_hub": ("ganaug.hub", "push_to_hub"),
    "Generator": ("ganaug.generator", "Generator"),
    "DataConfig": ("ganaug.config", "DataConfig"),
    "FitConfig": ("ganaug.config", "FitConfig"),
    "GanaugError": ("ganaug.errors", "GanaugError"),
    "GANAugment": ("ganaug.transforms.torchvision", "GANAugment"),
    "GANTranslate": ("ganaug.transforms.gan_translate", "GANTranslate"),
    "Translator": ("ganaug.translator", "Translator"),
    "load_translator": ("ganaug.translator", "load_translator"),
    "SyntheticMixDataset": ("ganaug.datasets", "SyntheticMixDataset"),
    "ClassBalancedDataset": ("ganaug.datasets", "ClassBalancedDataset"),
    "TransformedDataset": ("ganaug.datasets", "TransformedDataset"),
    "Sampler": ("ganaug.sampling", "Sampler"),
    "DistillMixUp": ("ganaug.distill", "DistillMixUp"),
}

if TYPE_CHECKING:
    from .config import DataConfig, FitConfig
    from .datasets import ClassBalancedDataset, SyntheticMixDataset, TransformedDataset
    from .distill import DistillMixUp
    from .errors import GanaugError
    from .fitting import Run, fit
    from .generator import Generator
    from .hub import push_to_hub
    from .model_sources import load_generator
    from .sampling import Sampler
    from .transforms.gan_translate import GANTranslate
    from .transforms.torchvision import GANAugment
    from .translator import Translator, load_translator


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
