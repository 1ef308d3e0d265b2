"""Name -> builder registries for architectures and losses, filled when their modules are imported.

Architectures register a generator and a discriminator builder that take the same keyword arguments
(``arch_args``: latent_dim, num_classes, channels, height, width, width_mult and any arch-specific
ones), plus training defaults (loss, Adam beta1). Rebuilding a generator needs only its name and
``arch_args``, which is what an export's ``config.json`` holds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import known


@dataclass
class ArchEntry:
    name: str
    generator: Callable[..., Any]
    discriminator: Callable[..., Any]
    description: str
    defaults: dict = field(default_factory=dict)


@dataclass
class LossEntry:
    name: str
    cls: type
    description: str


class Registry:
    """A small name -> entry table; ``get`` of an unknown name lists the known ones."""

    def __init__(self, kind: str, modules: tuple[str, ...]):
        self.kind = kind
        self._modules = modules
        self._entries: dict[str, Any] = {}

    def _load(self) -> None:
        for mod in self._modules:
            importlib.import_module(mod)

    def add(self, name: str, entry: Any) -> None:
        self._entries[name] = entry

    def get(self, name: str) -> Any:
        self._load()
        if name not in self._entries:
            raise known(self.kind, name, list(self._entries))
        return self._entries[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, Any]]:
        self._load()
        return sorted(self._entries.items())


ARCHS = Registry("architecture", ("ganaug.models",))
LOSSES = Registry("loss", ("ganaug.training.losses",))
# CycleGAN translators (task "cyclegan"): generator(channels_in, channels_out, **arch_args["generator"]) and
# discriminator(channels, **arch_args["discriminator"]); see ganaug.models.cyclegan
TRANSLATORS = Registry("translator architecture", ("ganaug.models.cyclegan",))


def register_arch(name: str, *, discriminator: Callable[..., Any], description: str, **defaults: Any):
    """Decorator for a generator builder: ``@register_arch("dcgan", discriminator=DcganD, description=...)``."""

    def deco(generator: Callable[..., Any]) -> Callable[..., Any]:
        ARCHS.add(name, ArchEntry(name, generator, discriminator, description, defaults))
        return generator

    return deco


def register_translator(
    name: str, generator: Callable[..., Any], *, discriminator: Callable[..., Any], description: str, **defaults: Any
) -> None:
    """Register a CycleGAN generator class and its discriminator under ``name`` (``--task cyclegan --arch NAME``)."""
    TRANSLATORS.add(name, ArchEntry(name, generator, discriminator, description, defaults))


def register_loss(name: str, description: str):
    def deco(cls: type) -> type:
        LOSSES.add(name, LossEntry(name, cls, description))
        return cls

    return deco


def build_generator(arch: str, arch_args: dict) -> Any:
    return ARCHS.get(arch).generator(**arch_args)


def build_discriminator(arch: str, arch_args: dict) -> Any:
    return ARCHS.get(arch).discriminator(**arch_args)
