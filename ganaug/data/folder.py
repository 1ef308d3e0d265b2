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
from .files import AUDIO_SUFFIXES, SKIP_HINT, visible
from .images import FORMATS_TEXT, IMAGE_SUFFIXES, normalize_array, read_image
from .labels import labelled_files


def _try_read(path: Path) -> tuple[np.ndarray | None, str]:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"{str(path)!r} is not an image file; accepted formats: {FORMATS_TEXT}"
    try:
        return read_image(path), ""
    except GanaugError as exc:
        return None, str(exc)


def _read_any(path: Path, window: object = "tags") -> tuple[list[np.ndarray] | None, str, list[str]]:
    """An image file (one sample) or a DICOM / NIfTI file (one sample per frame or slice), with notes."""
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
    loose = [e.name for e in root.iterdir() if e.is_file() and visible(e.name) and e.suffix.lower() in IMAGE_SUFFIXES]
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
