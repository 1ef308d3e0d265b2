"""The one exception type ganaug raises for bad input; the CLI prints it without a traceback."""

from __future__ import annotations


class GanaugError(Exception):
    """A user-facing error: the message names the file or value and says what is accepted."""


def known(kind: str, value: object, choices: list[str] | tuple[str, ...]) -> GanaugError:
    """An error for an unknown name that lists the known ones."""
    return GanaugError(f"unknown {kind} {value!r}; known: {', '.join(sorted(choices))}")
