"""Which files belong to which class: class subfolders, or a flat folder labelled by a CSV file or a file-name pattern.

``labelled_files`` is shared by the image, medical and audio readers, so ``--labels FILE.csv`` (``path,label`` rows)
and ``--label-pattern REGEX`` (the first group of a match in each file name) work for every preset.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import GanaugError
from .files import list_classes, list_files, visible

HEADER_PATHS = ("path", "file", "filename", "file_name", "image", "audio", "name")
HEADER_LABELS = ("label", "labels", "class", "target", "category")
SHOW = 5  # files named in an error


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOW])
    return shown + (f", ... ({len(names) - SHOW} more)" if len(names) > SHOW else "")


def sort_classes(names: set[str]) -> list[str]:
    """Class names in index order: numerically when all are integers ("2" before "10"), else alphabetically."""
    if names and all(re.fullmatch(r"-?\d+", n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def data_files(root: Path, suffixes: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """Visible files under ``root`` (recursively) whose name ends with one of ``suffixes``, and the other files."""
    wanted, other = [], []
    for path in list_files(root):
        (wanted if path.name.lower().endswith(tuple(suffixes)) else other).append(path)
    return wanted, other


def labelled_files(
    root: str | Path,
    *,
    labels: str = "",
    label_pattern: str = "",
    suffixes: Sequence[str],
    skip_bad: bool = False,
    notes: list[str] | None = None,
    skipped: list[tuple[str, str]] | None = None,
) -> tuple[list[str], list[list[Path]], bool]:
    """Class names (index order), each class's files, and whether DATA was a class-folder layout.

    Without ``labels``/``label_pattern`` the classes are DATA's subfolders (every file inside is returned, so that
    readers can report unreadable ones). With one of them, the files under DATA ending with ``suffixes`` are labelled
    by the CSV rows or by the pattern's first group; files that cannot be labelled are an error listing the first
    ones, or, with ``skip_bad``, are skipped and listed in ``skipped``.
    """
    root = Path(root)
    notes = notes if notes is not None else []
    skipped = skipped if skipped is not None else []
    if labels and label_pattern:
        raise GanaugError("give --labels FILE.csv or --label-pattern REGEX, not both")
    if not labels and not label_pattern:
        class_dirs = list_classes(root)
        return [d.name for d in class_dirs], [list_files(d, is_class=True) for d in class_dirs], True
    if labels:
        pairs = _from_csv(root, Path(labels), suffixes, skip_bad, notes, skipped)
    else:
        pairs = _from_pattern(root, label_pattern, suffixes, skip_bad, notes, skipped)
    names = sort_classes({label for _, label in pairs})
    index = {name: i for i, name in enumerate(names)}
    groups: list[list[Path]] = [[] for _ in names]
    for path, label in pairs:
        groups[index[label]].append(path)
    return names, groups, False


def _from_pattern(
    root: Path, pattern: str, suffixes: Sequence[str], skip_bad: bool, notes: list[str], skipped: list
) -> list[tuple[Path, str]]:
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise GanaugError(f"--label-pattern {pattern!r} is not a valid regular expression: {exc}") from None
    files, other = data_files(root, suffixes)
    if other:
        notes.append(f"ignored {len(other)} files of other kinds in DATA ({_examples([p.name for p in other])})")
    if not files:
        raise GanaugError(f"DATA folder {str(root)!r} holds no files ending with {', '.join(suffixes)}")
    pairs, unmatched = [], []
    for path in files:
        match = rx.search(path.name)
        label = (match.group(1) if rx.groups else match.group(0)) if match else None
        if label:
            pairs.append((path, label))
        else:
            unmatched.append(path)
    if unmatched:
        message = (
            f"{len(unmatched)} of {len(files)} files do not match --label-pattern {pattern!r} (a search in each file "
            f"name; the first group is the label): {_examples([p.name for p in unmatched])}"
        )
        if not skip_bad or not pairs:
            raise GanaugError(f"{message}. Fix the pattern, or pass --skip-bad to skip these files")
        skipped.extend((str(p), f"does not match --label-pattern {pattern!r}") for p in unmatched)
        notes.append(f"skipped {len(unmatched)} files that do not match the label pattern")
    return pairs


def _from_csv(
    root: Path, csv_path: Path, suffixes: Sequence[str], skip_bad: bool, notes: list[str], skipped: list
) -> list[tuple[Path, str]]:
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GanaugError(f"cannot read --labels file {str(csv_path)!r}: {exc.strerror or exc}") from None
    rows = [(i + 1, row) for i, row in enumerate(csv.reader(text.splitlines())) if row and any(c.strip() for c in row)]
    rows = [(n, row) for n, row in rows if not row[0].lstrip().startswith("#")]
    if rows and rows[0][1][0].strip().lower() in HEADER_PATHS and len(rows[0][1]) > 1:
        if rows[0][1][1].strip().lower() in HEADER_LABELS:
            rows = rows[1:]
    if not rows:
        raise GanaugError(f"--labels file {str(csv_path)!r} has no path,label rows")
    seen: dict[Path, str] = {}
    pairs, missing = [], []
    for line, row in rows:
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise GanaugError(f"{str(csv_path)!r} line {line}: expected 'path,label', got {','.join(row)!r}")
        rel, label = row[0].strip(), row[1].strip()
        path = Path(rel) if Path(rel).is_absolute() else root / rel
        if path in seen:
            if seen[path] != label:
                raise GanaugError(
                    f"{str(csv_path)!r} line {line}: {rel!r} is labelled both {seen[path]!r} and {label!r}"
                )
            continue
        seen[path] = label
        if not path.is_file():
            missing.append(rel)
            continue
        pairs.append((path, label))
    if missing:
        message = (
            f"{len(missing)} files named in {str(csv_path)!r} do not exist under {str(root)!r}: {_examples(missing)}"
        )
        if not skip_bad or not pairs:
            raise GanaugError(f"{message}. Paths are relative to DATA; fix them, or pass --skip-bad to skip them")
        skipped.extend((str(root / m), f"named in {csv_path.name} but missing") for m in missing)
        notes.append(f"skipped {len(missing)} files named in {csv_path.name} that do not exist")
    listed = {p.resolve() for p, _ in pairs}
    unlisted = [p for p in data_files(root, suffixes)[0] if p.resolve() not in listed and visible(p.name)]
    if unlisted:
        notes.append(f"ignored {len(unlisted)} files in DATA not named in {csv_path.name}")
    return pairs
