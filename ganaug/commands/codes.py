"""The ``--code NAME=VALUE`` option (InfoGAN latent codes) that ``ganaug sample``, ``generate`` and ``balance`` share:
one parser, so the three commands accept the same text and give the same errors."""

from __future__ import annotations

import click

from ..errors import GanaugError

CODE_OPTION = click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="NAME=VALUE",
    help="models fitted with --info-codes: fix a latent code, e.g. c0=3 or u0=0.5 (repeatable); codes not given are "
    "drawn at random",
)


def code_values(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """``--code NAME=VALUE`` options as a dict, None when none is given (the generator checks names and ranges).

    Example:
        >>> code_values(("c0=3", " u0 = 0.5"))
        {'c0': '3', 'u0': '0.5'}
    """
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GanaugError(f"--code {pair!r} is not accepted; give NAME=VALUE, e.g. --code c0=3 or --code u0=0.5")
        out[name.strip()] = value.strip()
    return out or None
