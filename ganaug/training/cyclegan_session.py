"""Kept for ``ganaug.cli``, which imports :func:`domain_pair` from here; the CycleGAN's part of the one training
session is :mod:`ganaug.training.cyclegan_task`."""

from __future__ import annotations

from .cyclegan_task import domain_pair

__all__ = ["domain_pair"]
