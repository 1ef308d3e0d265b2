"""The exception types ganaug raises for bad input; the CLI prints them without a traceback."""

from __future__ import annotations


class GanaugError(Exception):
    """A user-facing error: the message names the file or value and says what is accepted."""


class GanaugValueError(GanaugError, ValueError):
    """A bad value (an option, a label, a sample's structure): also a ``ValueError``, as torchvision and
    albumentations raise for bad values."""


class GanaugTypeError(GanaugError, TypeError):
    """An input of a type ganaug cannot handle: also a ``TypeError``, as torchvision raises for unsupported types."""


def known(kind: str, value: object, choices: list[str] | tuple[str, ...]) -> GanaugError:
    """An error for an unknown name that lists the known ones."""
    return GanaugError(f"unknown {kind} {value!r}; known: {', '.join(sorted(choices))}")
