"""Atomic writes: a temp file in the same folder, then a rename, so nothing half written is left behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".pkl.gz", ".bin", ".ckpt", ".joblib")
"""File names that hold pickles (loading them can run code): refused wherever ganaug reads models or data."""


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), recorded beside tensors so that damage is found before they are used."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_tensors(path: str | Path, expected_sha256: str | None, recorded_in: str | Path) -> dict:
    """A safetensors file's tensors, read once: its bytes are checked against the SHA-256 recorded in
    ``recorded_in`` (nothing to check: None), then parsed. A damaged or unreadable file is a clear error."""
    import hashlib

    from safetensors.torch import load

    from .errors import GanaugError

    data = Path(path).read_bytes()
    if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise GanaugError(
            f"{path} does not match the SHA-256 recorded in {recorded_in}: the file is damaged or was changed "
            "after it was written"
        )
    try:
        return load(data)
    except Exception as exc:  # the library's own error type for a malformed file
        raise GanaugError(f"{path} cannot be read as safetensors ({exc})") from exc


def is_pickle_name(name: str | Path) -> bool:
    """Whether a file name ends in one of :data:`PICKLE_SUFFIXES` (case-insensitive)."""
    return str(name).lower().endswith(PICKLE_SUFFIXES)


def refuse_pickle(path: str | Path, accepted: str, what: str = "pickled weights") -> None:
    """A clear error when ``path`` names a pickle (:func:`is_pickle_name`): it lists :data:`PICKLE_SUFFIXES` and says
    what is ``accepted`` instead."""
    if is_pickle_name(path):
        from .errors import GanaugError

        raise GanaugError(
            f"{path}: {what} ({'/'.join(PICKLE_SUFFIXES)}) are refused because loading them can run code; "
            f"ganaug loads safetensors only. {accepted}"
        )


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result onto ``path``; the temp file is removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes 0600, and some writers (safetensors) replace the file: give the result the permissions
        # open() would, so that teammates can read a model
        os.chmod(tmp, file_mode(0o666))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def file_mode(mode: int) -> int:
    """``mode`` less the process's umask: the permissions ``open()`` or ``mkdir()`` would give."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def write_bytes(path: str | Path, data: bytes) -> Path:
    def _write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, _write)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def save_tensors(path: str | Path, tensors: dict, metadata: dict[str, str] | None = None) -> Path:
    """Save a flat ``{name: tensor}`` dict as safetensors, atomically."""
    from safetensors.torch import save_file

    clean = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}

    def write(tmp: str) -> None:
        try:
            save_file(clean, tmp, metadata=metadata)
        except Exception as exc:  # the library's own error type for a failed write (a full disk): an OSError
            code = re.search(r"os error (\d+)", str(exc))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), str(path)) from exc

    return atomic_write(path, write)


@contextlib.contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name beside ``folder``, then swap it in whole (the old one is removed)."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = folder.with_name(f".{folder.name}.old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure we can write into it; raise a clear error if not."""
    from .errors import GanaugError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise GanaugError(f"output folder {str(folder)!r} is not writable: {exc.strerror or exc}") from exc
    return folder
