"""Class-folder reader: ``DATA/<class>/<file>``, class names = sorted subfolder names."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import GanaugError
from . import LabelledData
from .convert import assemble
from .images import FORMATS_TEXT, IMAGE_SUFFIXES, read_image

IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})
LAYOUT = "DATA must hold one subfolder per class with the images inside: DATA/<class>/<file>"
SKIP_HINT = "fix or remove it, or pass --skip-bad (skip_bad=True) to skip unreadable files"


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in IGNORED_NAMES


def list_classes(root: str | Path) -> list[Path]:
    """The class subfolders of ``root`` in sorted (index) order; raise a clear error if there are none."""
    root = Path(root)
    try:
        entries = sorted((e for e in root.iterdir() if _visible(e.name)), key=lambda e: e.name)
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
            f"For one class (an unconditional generator) put the files in DATA/<name>/"
        )
    raise GanaugError(f"DATA folder {str(root)!r} is empty; {LAYOUT}")


def list_files(class_dir: str | Path) -> list[Path]:
    """Every visible file under ``class_dir`` (recursively), sorted by relative path."""
    class_dir = Path(class_dir)
    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if _visible(d))
        found.extend(Path(dirpath) / f for f in filenames if _visible(f))
    return sorted(found, key=lambda p: p.relative_to(class_dir).as_posix())


def _try_read(path: Path) -> tuple[np.ndarray | None, str]:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"{str(path)!r} is not an image file; accepted formats: {FORMATS_TEXT}"
    try:
        return read_image(path), ""
    except GanaugError as exc:
        return None, str(exc)


def read_folder(
    path: str | Path,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """Read ``DATA/<class>/<file>`` images (PNG, JPEG, BMP, TIFF, .npy). ``split`` is unused for folders."""
    root = Path(path)
    class_dirs = list_classes(root)
    notes: list[str] = []
    skipped: list[tuple[str, str]] = []
    loose = [e.name for e in root.iterdir() if e.is_file() and _visible(e.name) and e.suffix.lower() in IMAGE_SUFFIXES]
    if loose:
        notes.append(f"ignored {len(loose)} image files directly in DATA; only files inside class subfolders are read")
    samples: list[np.ndarray] = []
    labels: list[int] = []
    kinds = {"npy": 0, "tiff": 0, "image": 0}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for index, class_dir in enumerate(class_dirs):
            files = list_files(class_dir)
            if not files:
                raise GanaugError(
                    f"class folder {str(class_dir)!r} is empty; every class needs at least one image "
                    f"({FORMATS_TEXT}). Remove the folder or add images to it"
                )
            good = 0
            for file, (array, reason) in zip(files, pool.map(_try_read, files), strict=True):
                if array is None:
                    if not skip_bad:
                        raise GanaugError(f"{reason}; {SKIP_HINT}")
                    skipped.append((str(file), reason))
                    continue
                samples.append(array)
                labels.append(index)
                good += 1
                suffix = file.suffix.lower()
                kinds["npy" if suffix == ".npy" else "tiff" if suffix in (".tif", ".tiff") else "image"] += 1
            if not good:
                raise GanaugError(
                    f"class folder {str(class_dir)!r} has no readable images ({len(files)} files skipped as bad); "
                    "every class needs at least one"
                )
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable files (listed in skipped)")
    if len(class_dirs) == 1:
        notes.append(f"one class ({class_dirs[0].name!r}): the generator will be unconditional")
    majority = max(kinds, key=lambda k: kinds[k])
    source_kind = majority if kinds[majority] * 2 > len(samples) else "image"
    images, labels_t, config = assemble(
        samples,
        labels,
        [d.name for d in class_dirs],
        format="folder",
        source=str(path),
        resolution=resolution,
        channels=channels,
        source_kind=source_kind,
        notes=notes,
    )
    return LabelledData(images=images, labels=labels_t, config=config, skipped=skipped, notes=notes)
