"""Synthetic samples as transforms: ``GANAugment`` for torchvision v2 (here); albumentations:
``ganaug.transforms.albumentations``.

``functional`` holds the pure conversions (model space -> the input's type, size, channels, dtype and range).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["GANAugment"]

if TYPE_CHECKING:
    from .torchvision import GANAugment


def __getattr__(name: str):
    if name == "GANAugment":
        from .torchvision import GANAugment

        return GANAugment
    raise AttributeError(f"module 'ganaug.transforms' has no attribute {name!r}")
