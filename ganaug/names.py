"""Names from outside (a model's ``config.json``, a dataset's labels) made safe to use as file names.

Class names of a model pulled from the Hub or of a Hugging Face dataset are untrusted: ``../../evil``, an absolute
path or a control character must not decide where a file is written. Every class name becomes a file or folder name
through :func:`file_names` only: path separators, characters some file systems refuse and control characters become
``_``, leading dots are escaped (no ``.``, ``..`` or hidden files), and names that collide afterwards (also when they
differ only in case) are an error instead of overwriting each other's files.

Example:
    >>> file_names(["T-shirt/top", "../../evil", "cat"])
    ['T-shirt_top', '_._.._evil', 'cat']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import GanaugError

UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
MAX_LENGTH = 120


def file_name(name: object) -> str:
    """One name as a single, safe path component (see the module docstring)."""
    text = UNSAFE.sub("_", str(name)).strip(" ")
    if not text:
        return "_"
    if text.startswith("."):
        text = "_" + text[1:]
    return text[:MAX_LENGTH]


def file_names(names: Sequence[object], source: str = "the model") -> list[str]:
    """Safe file names for ``names``, in order; collisions after making them safe are a clear error."""
    safe = [file_name(n) for n in names]
    seen: dict[str, object] = {}
    for original, name in zip(names, safe, strict=True):
        key = name.casefold()
        if key in seen:
            raise GanaugError(
                f"class names {seen[key]!r} and {original!r} of {source} would be written to the same file name "
                f'{name!r}; class names must stay distinct as file names (ignoring case, with / \\ : * ? " < > | and '
                "control characters replaced by _)"
            )
        seen[key] = original
    return safe
