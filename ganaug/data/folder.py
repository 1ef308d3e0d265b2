"""Class-folder reader: ``DATA/<class>/<file>``, class names = sorted subfolder names."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import GanaugError
from . import LabelledData
from .convert import assemble
from .images import FORMATS_TEXT, IMAGE_SUFFIXES, normalize_array, read_image

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
        dirnames[:] = sorted(d for d in dirnames if _visible(d) and enter(dirpath, d))
        found.extend(Path(dirpath) / f for f in filenames if _visible(f))
    return sorted(found, key=lambda p: p.relative_to(class_dir).as_posix())


def _try_read(path: Path) -> tuple[np.ndarray | None, str]:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"{str(path)!r} is not an image file; accepted formats: {FORMATS_TEXT}"
    try:
        return read_image(path), ""
    except GanaugError as exc:
        return None, str(exc)


def _read_any(path: Path, window: object = "tags") -> tuple[list[np.ndarray] | None, str, list[str]]:
    """An image file (one sample) or a DICOM / NIfTI file (one sample per frame or slice), with notes."""
    from .audio import AUDIO_SUFFIXES
    from .medical import is_medical, read_medical

    if path.suffix.lower() not in IMAGE_SUFFIXES and is_medical(path):
        try:
            arrays, notes = read_medical(path, window)
            return [normalize_array(a, str(path)) for a in arrays], "", notes
        except GanaugError as exc:
            return None, str(exc), []
    if path.name.lower().endswith(AUDIO_SUFFIXES):
        return None, f"{str(path)!r} is an audio file; audio class folders are read with --preset spectrogram", []
    array, reason = _try_read(path)
    return (None if array is None else [array]), reason, []


def read_folder(
    path: str | Path,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
    window: str = "",
    labels: str = "",
    label_pattern: str = "",
) -> LabelledData:
    """Read ``DATA/<class>/<file>`` images (PNG, JPEG, BMP, TIFF, .npy, DICOM, NIfTI). ``split`` is unused here.

    ``labels`` (a path,label CSV) or ``label_pattern`` (a regex on file names) label a flat folder instead;
    ``window`` ("center,width", "none" or "" for the DICOM tags) applies to DICOM and NIfTI files.
    """
    from .labels import labelled_files
    from .medical import MEDICAL_SUFFIXES, parse_window

    root = Path(path)
    notes: list[str] = []
    skipped: list[tuple[str, str]] = []
    class_names, class_files, nested = labelled_files(
        root,
        labels=labels,
        label_pattern=label_pattern,
        suffixes=IMAGE_SUFFIXES + MEDICAL_SUFFIXES,
        skip_bad=skip_bad,
        notes=notes,
        skipped=skipped,
    )
    read = partial(_read_any, window=parse_window(window))
    file_notes: Counter = Counter()
    loose = [e.name for e in root.iterdir() if e.is_file() and _visible(e.name) and e.suffix.lower() in IMAGE_SUFFIXES]
    if loose and nested:
        notes.append(f"ignored {len(loose)} image files directly in DATA; only files inside class subfolders are read")
    samples: list[np.ndarray] = []
    label_ids: list[int] = []
    kinds = {"npy": 0, "tiff": 0, "image": 0}
    medical_files = 0
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for index, files in enumerate(class_files):
            class_dir = root / class_names[index] if nested else f"{class_names[index]} (labelled)"
            if not files:
                raise GanaugError(
                    f"class folder {str(class_dir)!r} is empty; every class needs at least one image "
                    f"({FORMATS_TEXT}). Remove the folder or add images to it"
                )
            good = 0
            for file, (arrays, reason, done) in zip(files, pool.map(read, files), strict=True):
                if arrays is None:
                    if not skip_bad:
                        raise GanaugError(f"{reason}; {SKIP_HINT}")
                    skipped.append((str(file), reason))
                    continue
                samples.extend(arrays)
                label_ids.extend([index] * len(arrays))
                file_notes.update(set(done))
                good += 1
                suffix = file.suffix.lower()
                kinds["npy" if suffix == ".npy" else "tiff" if suffix in (".tif", ".tiff") else "image"] += 1
                medical_files += suffix not in IMAGE_SUFFIXES
            if not good:
                raise GanaugError(
                    f"class folder {str(class_dir)!r} has no readable images ({len(files)} files skipped as bad); "
                    "every class needs at least one"
                )
    notes += [f"{k} medical files: {note}" for note, k in sorted(file_notes.items())]
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable files (listed in skipped)")
    if len(class_names) == 1:
        notes.append(f"one class ({class_names[0]!r}): the generator will be unconditional")
    majority = max(kinds, key=lambda k: kinds[k])
    source_kind = majority if kinds[majority] * 2 > len(samples) else "image"
    images, labels_t, config = assemble(
        samples,
        label_ids,
        class_names,
        format="folder",
        source=str(path),
        resolution=resolution,
        channels=channels,
        source_kind=source_kind,
        physical_values=medical_files > 0,
        notes=notes,
    )
    return LabelledData(images=images, labels=labels_t, config=config, skipped=skipped, notes=notes)
