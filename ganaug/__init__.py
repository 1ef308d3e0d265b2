"""ganaug: class-conditional GANs as data augmentation.

``import ganaug`` is light: torch and the rest load when a function that needs them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["DataConfig", "FitConfig", "Generator", "GanaugError", "Run", "fit", "load_generator", "__version__"]

_LAZY = {
    "fit": ("ganaug.fitting", "fit"),
    "Run": ("ganaug.fitting", "Run"),
    "load_generator": ("ganaug.sources", "load_generator"),
    "Generator": ("ganaug.generator", "Generator"),
    "DataConfig": ("ganaug.config", "DataConfig"),
    "FitConfig": ("ganaug.config", "FitConfig"),
    "GanaugError": ("ganaug.errors", "GanaugError"),
}

if TYPE_CHECKING:
    from .config import DataConfig, FitConfig
    from .errors import GanaugError
    from .fitting import Run, fit
    from .generator import Generator
    from .sources import load_generator


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
