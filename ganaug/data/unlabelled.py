"""One domain of a CycleGAN: a flat folder of images (unlabelled), a class folder (labels kept), or any labelled DATA.

Example:
    >>> domain = read_domain("photos/", "A")  # doctest: +SKIP
    >>> domain.images.shape, domain.config.class_names  # doctest: +SKIP
    (torch.Size([300, 3, 128, 128]), [])
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import GanaugError
from . import LabelledData, read_data
from .convert import assemble
from .files import SKIP_HINT, list_files, visible
from .folder import _try_read
from .images import FORMATS_TEXT

DOMAIN_LAYOUT = (
    "a folder of images (DATA/<file>), a folder with one subfolder per class (DATA/<class>/<file>), "
    "a MedMNIST-style .npz or hf:NAME"
)


def read_unlabelled(
    path: str | Path, *, resolution: str | int = "auto", channels: int = 0, skip_bad: bool = False
) -> LabelledData:
    """Every image under ``path`` (recursively) with no class: labels are all 0 and ``class_names`` is empty."""
    root = Path(path)
    files = list_files(root)
    if not files:
        raise GanaugError(f"folder {str(root)!r} holds no files; it needs images ({FORMATS_TEXT})")
    samples, skipped = [], []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for file, (array, reason) in zip(files, pool.map(_try_read, files), strict=True):
            if array is None:
                if not skip_bad:
                    raise GanaugError(f"{reason}; {SKIP_HINT}")
                skipped.append((str(file), reason))
            else:
                samples.append(array)
    if not samples:
        raise GanaugError(f"folder {str(root)!r} has no readable images ({len(files)} files skipped as bad)")
    notes = [f"skipped {len(skipped)} unreadable files (listed in skipped)"] if skipped else []
    images, labels, config = assemble(
        samples,
        [0] * len(samples),
        [],
        format="folder",
        source=str(root),
        resolution=resolution,
        channels=channels,
        notes=notes,
    )
    return LabelledData(images=images, labels=labels, config=config, skipped=skipped, notes=notes)


def read_domain(
    source: str | os.PathLike,
    name: str,
    *,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
) -> LabelledData:
    """Read domain ``name`` ("A" or "B"): a flat image folder is unlabelled; class folders, .npz and hf: keep labels.

    Errors name the domain, so a user with two folders knows which one is wrong.
    """
    text = os.fspath(source)
    path = Path(text).expanduser()
    try:
        if not text.startswith("hf:") and path.is_dir():
            entries = [e for e in path.iterdir() if visible(e.name)]
            if not entries:
                raise GanaugError(f"folder {text!r} is empty; it needs {DOMAIN_LAYOUT}")
            if not any(e.is_dir() for e in entries):
                return read_unlabelled(path, resolution=resolution, channels=channels, skip_bad=skip_bad)
        return read_data(source, resolution=resolution, channels=channels, split=split, skip_bad=skip_bad)
    except GanaugError as exc:
        raise GanaugError(f"domain {name} ({text}): {exc}") from None
