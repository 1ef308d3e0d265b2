"""How the commands report errors: a GanaugError or an operating-system fault becomes one ``Error: ...`` line and exit
status 1, without a traceback."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any

import click

from ..errors import GanaugError


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a GanaugError, or an operating-system fault (a full disk, a read-only folder), into a one-line
    ``Error: ...`` and exit status 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GanaugError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(os_fault(exc)) from None

    return wrapper


_FAULT_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write elsewhere",
    errno.EFBIG: "the file system refused a file this large: free some space or write elsewhere",
    errno.EROFS: "the folder is on a read-only file system: choose a writable one",
    errno.EACCES: "no permission: choose a folder you can write to",
    errno.EPERM: "no permission: choose a folder you can write to",
}


def os_fault(exc: OSError) -> str:
    """One line for an operating-system fault: what, where and what to do. Files written atomically are left as
    they were (a temporary file is removed), so a resumed run or a new command can start from them."""
    where = f" ({exc.filename})" if exc.filename else ""
    hint = _FAULT_HINTS.get(exc.errno or -1, "check the path and try again")
    return f"{exc.strerror or exc}{where}; {hint}"
