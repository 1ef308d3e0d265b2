"""Files in DATA folders: which names are visible, the class subfolders, every file under a folder, and the file
suffixes and hints the readers share (the image, audio, medical and label readers all list files through here).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import GanaugError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".aifc")
IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})
LAYOUT = "DATA must hold one subfolder per class with the images inside: DATA/<class>/<file>"
SKIP_HINT = "fix or remove it, or pass --skip-bad (skip_bad=True) to skip unreadable files"


def visible(name: str) -> bool:
    """Whether a file or folder name counts: not hidden, not an operating system's own file."""
    return not name.startswith(".") and name not in IGNORED_NAMES


def list_classes(root: str | Path) -> list[Path]:
    """The class subfolders of ``root`` in sorted (index) order; raise a clear error if there are none."""
    root = Path(root)
    try:
        entries = sorted((e for e in root.iterdir() if visible(e.name)), key=lambda e: e.name)
    except OSError as exc:
        raise GanaugError(f"cannot list DATA folder {str(root)!r}: {exc.strerror or exc}") from exc
    class_dirs = [e for e in entries if e.is_dir()]
    if class_dirs:
        return class_dirs
    files = [e.name for e in entries if e.is_file()]
    if files:
        example = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        raise GanaugError(
            f"DATA folder {str(root)!r} has {len(files)} files ({example}) but no class subfolders; {LAYOUT}. "
            "To label the files where they are, give --labels FILE.csv (path,label rows) or --label-pattern REGEX "
            "(its first group in each file name is the label); for one class (an unconditional generator) put the "
            "files in DATA/<name>/"
        )
    raise GanaugError(f"DATA folder {str(root)!r} is empty; {LAYOUT}")


def list_files(class_dir: str | Path, is_class: bool = False) -> list[Path]:
    """Every visible file under ``class_dir`` (recursively, through symlinked folders), sorted by relative path.

    A linked folder is entered once, and never when it leads back to a folder already walked or to one above
    ``class_dir`` (a loop that would reach every class); for a class folder (``is_class``) never into another class's
    folder of the same DATA either: a class holds only its own files."""
    class_dir = Path(class_dir)
    class_real = os.path.realpath(class_dir)
    data_real = os.path.realpath(class_dir.parent) if is_class else None
    seen = {class_real}

    def inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    def enter(dirpath: str, name: str) -> bool:
        real = os.path.realpath(os.path.join(dirpath, name))
        other_class = data_real is not None and inside(real, data_real) and not inside(real, class_real)
        if real in seen or inside(class_real, real) or other_class:
            return False
        seen.add(real)
        return True

    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if visible(d) and enter(dirpath, d))
        found.extend(Path(dirpath) / f for f in filenames if visible(f))
    return sorted(found, key=lambda p: p.relative_to(class_dir).as_posix())
