"""Synthetic samples written as files: a class-balanced copy of DATA (``balance``) or a synthetic labelled dataset
(``generate``, a class folder or a ``datasets`` dataset). ``ganaug balance`` and ``ganaug generate`` call these.

Synthetic file ``k`` of class ``c`` is item ``k`` of the model's recipe (``ganaug.downstream.recipe.ItemSource``: the
teacher filter's ``k``-th accepted item, at the recipe's latent spread) for the given seed, the sample that
``ClassBalancedDataset`` returns, and ``manifest.csv`` records its own noise seed (``ganaug sample MODEL --class C
--n 1 --seed SEED`` draws it again at spread 1). Without a recipe (``recipe="none"``) item ``k`` is
``Sampler.item(c, k)``. The output folder is written under a temporary name and renamed into place at the end.

For a model fitted with ``--info-codes``, ``codes`` fixes latent codes of every synthetic sample (``{"c0": 3}``, the
others drawn as in training; or ``"sweep"``, as ``GANAugment`` takes it); they are recorded in the plan and in a
``codes`` column of ``manifest.csv`` (``c0=3``), so ``ganaug sample ... --seed SEED --code c0=3`` draws a file again.

Example:
    >>> balance("data/train", "runs/NAME", "data/train-balanced")  # doctest: +SKIP
    PosixPath('data/train-balanced')
    >>> plan_balance("data/train", "runs/NAME").classes["benign"]  # doctest: +SKIP
    {'real': 100, 'added': 252, 'total': 352}
    >>> generate("runs/NAME", 500, "synth", format="hf")  # doctest: +SKIP
    PosixPath('synth')
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import HF_MARKERS, read_data
from ..data.convert import IMAGE_SUFFIXES, read_image, to_data, write_sample
from ..data.files import list_classes, list_files
from ..downstream.recipe import ItemSource
from ..errors import GanaugError
from ..fileio import check_writable, file_mode, write_text
from ..models.info import describe_values
from ..names import file_names
from ..progress import progress_bar
from ..transforms import functional as F
from .datasets import plan_targets
from .sampling import Sampler

__all__ = ["BalancePlan", "GeneratePlan", "balance", "generate", "plan_balance", "plan_generate", "staged_output"]

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "class", "is_synthetic", "seed")
SYNTHETIC_PREFIX = "ganaug"
RECIPES = ("auto", "none")
REAL_MODES = ("copy", "hardlink", "symlink")
FORMATS = ("folder", "hf")


def new_output_folder(out: str) -> Path:
    """``out`` created (or already there and empty) and writable."""
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise GanaugError(f"output folder {out!r} exists and is not empty; choose a new folder")
    return check_writable(path)


@contextlib.contextmanager
def staged_output(out: str) -> Iterator[Path]:
    """Write the output folder under a temporary name beside ``out`` and rename it into place at the end: a failed
    or interrupted command (a full disk, Ctrl-C) leaves no partial ``out``, and of two commands writing the same
    ``out`` the second gets a clear error instead of mixed files."""
    path = new_output_folder(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    try:
        os.chmod(tmp, file_mode(0o777))  # mkdtemp makes 0700: give the folder the permissions mkdir would
        yield tmp
        try:
            os.rename(tmp, path)  # onto the empty folder: atomic; refused when another command filled it meanwhile
        except OSError:
            if not (path.is_dir() and any(path.iterdir())):
                raise
            raise GanaugError(
                f"output folder {out!r} was filled by another command while this one wrote; nothing of this run "
                "was kept: choose a new folder"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(out: Path, rows: list[tuple[str, str, bool, int | None]], codes: str = "") -> Path:
    """``manifest.csv``: path (relative to ``out``), class, is_synthetic (true/false), seed (synthetic files), and
    with fixed latent ``codes`` a ``codes`` column (``c0=3 u0=0.5``, synthetic files)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS + (("codes",) if codes else ()))
    for path, name, synthetic, seed in rows:
        row = [path, name, "true" if synthetic else "false", "" if seed is None else seed]
        writer.writerow(row + ([codes if synthetic else ""] if codes else []))
    return write_text(out / MANIFEST, buffer.getvalue())


def _sampler(model: str, seed: int, truncation: float | None, device: str, codes: dict | str | None) -> Sampler:
    return Sampler(model, seed=seed, truncation=truncation, device=device, codes=codes)


def _codes_entry(codes: dict | str | None) -> dict[str, Any]:
    """What a plan's ``to_dict`` says of the latent codes: nothing unless some are fixed (or swept)."""
    return {} if codes is None else {"codes": codes}


def _synthetic_name(class_dir: Path, seed: int, k: int) -> Path:
    return class_dir / f"{SYNTHETIC_PREFIX}_{seed}_{k:05d}"


@dataclass
class RealClass:
    """The real samples of one class: files to copy (class-folder DATA) or arrays to write (.npz / HF DATA)."""

    name: str
    files: list[Path]
    folder: Path | None = None
    arrays: object = None  # N x H x W x C data-space samples
    shape: tuple[int, int, int] | None = None  # H, W, C of the class's samples

    def __len__(self) -> int:
        return len(self.files) if self.arrays is None else len(self.arrays)


def _read_real(data: str, resolution: str) -> tuple[list[RealClass], object | None]:
    """Real samples per DATA class; the second value is the DataConfig of arrays read from .npz / HF DATA."""
    root = Path(data)
    if root.is_dir() and not any((root / m).is_file() for m in HF_MARKERS):
        classes = []
        for class_dir in list_classes(root):
            files = [f for f in list_files(class_dir, is_class=True) if f.suffix.lower() in IMAGE_SUFFIXES]
            shape = read_image(files[0]).shape if files else None
            classes.append(RealClass(class_dir.name, files, folder=class_dir, shape=shape))
        return classes, None
    labelled = read_data(data, resolution=resolution)
    config = labelled.config
    arrays = labelled.images
    classes = []
    for index, name in enumerate(config.class_names):
        mask = labelled.labels == index
        shape = (config.height, config.width, config.channels)
        classes.append(RealClass(name, [], arrays=arrays[mask], shape=shape))
    return classes, config


def _copy_real(entry: RealClass, out_dir: Path, how: str, config, used: set[str], rows: list, advance) -> None:
    if entry.arrays is not None:
        for i, array in enumerate(to_data(entry.arrays, config)):
            dest = write_sample(out_dir / f"{entry.name}_{i:05d}", array, config)
            rows.append((dest.relative_to(out_dir.parent).as_posix(), entry.name, False, None))
            used.add(dest.name)
            advance(1)
        return
    for src in entry.files:
        dest = out_dir / src.relative_to(entry.folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if how == "symlink":
            os.symlink(src.resolve(), dest)
        elif how == "hardlink":
            try:
                os.link(src, dest)
            except OSError:  # another file system: copy instead
                shutil.copy2(src, dest)
        else:
            shutil.copy2(src, dest)
        rows.append((dest.relative_to(out_dir.parent).as_posix(), entry.name, False, None))
        used.add(dest.relative_to(out_dir).as_posix())
        advance(1)


# -- balance --------------------------------------------------------------------------------------------------
@dataclass
class BalancePlan:
    """What ``balance`` writes: per class its real count, the synthetic samples added and the total.

    ``declined`` is true when the model's recipe says not to add synthetic samples and no target was given;
    ``codes`` are the latent codes fixed in every synthetic sample (checked values, ``"sweep"`` or None).
    """

    data: str
    model: str
    seed: int
    classes: dict[str, dict[str, int]]
    declined: bool = False
    source: ItemSource | None = field(default=None, repr=False)
    real: list[RealClass] = field(default_factory=list, repr=False)
    config: Any = field(default=None, repr=False)
    codes: dict | str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``ganaug balance --dry-run`` prints it."""
        plan = {"data": self.data, "model": self.model, "seed": self.seed}
        return {**plan, **_codes_entry(self.codes), "classes": self.classes}

    def summary(self) -> str:
        """``class: real+added`` per class."""
        return ", ".join(f"{n}: {p['real']}+{p['added']}" for n, p in self.classes.items())

    def write(self, out: str | os.PathLike, how: str = "copy", progress: bool = True) -> Path:
        """Write the balanced copy to ``out`` (new or empty): real files (``how``: copy, hardlink or symlink for
        class-folder DATA) plus the synthetic ones, and ``manifest.csv``; returns ``out``."""
        _choice(how, REAL_MODES, "how")
        source = self.source
        sampler = source.sampler
        by_class = {entry.name: entry for entry in self.real}
        added = [self.classes[n]["added"] for n in sampler.class_names]
        total = sum(p["total"] for p in self.classes.values())
        fallback = next((e.shape for e in self.real if e.shape is not None), None)
        rows: list[tuple[str, str, bool, int | None]] = []
        safe = dict(zip(sampler.class_names, file_names(sampler.class_names, self.model), strict=True))
        with staged_output(str(out)) as staged, progress_bar("balance", total, progress) as advance:
            for name, entry in by_class.items():
                c = sampler.class_index(name)
                class_dir = staged / safe[name]
                class_dir.mkdir(parents=True, exist_ok=True)
                used: set[str] = set()
                _copy_real(entry, class_dir, how, self.config, used, rows, advance)
                h, w, ch = entry.shape or fallback or (0, 0, 0)
                spec = F.data_spec(sampler.data, h, w, ch)
                for k in range(added[c]):
                    array = F.render(source.items(c, [k])[0], sampler.data, spec)
                    dest = _write_new(_synthetic_name(class_dir, self.seed, k), array, sampler.data, used)
                    rows.append((dest.relative_to(staged).as_posix(), name, True, source.seed(c, k)))
                    advance(1)
            write_manifest(staged, rows, describe_values(self.codes))
        return Path(out)


def plan_balance(
    data: str | os.PathLike,
    model: str | os.PathLike,
    target: str | int | None = None,
    recipe: str = "auto",
    seed: int = 0,
    truncation: float | None = None,
    resolution: str = "auto",
    device: str = "cpu",
    codes: dict | str | None = None,
) -> BalancePlan:
    """How many synthetic samples ``balance`` adds per class of DATA to reach ``target`` (``"max"``, a count N, or
    None: max, or none when the model's recipe says not to add), with latent ``codes`` fixed. Nothing is written."""
    data, model = str(data), str(model)
    if seed < 0:
        raise GanaugError(f"--seed must be >= 0, got {seed}")
    goal: object = target if target in (None, "max") else _integer(str(target), "--target", "max or a count N")
    sampler = _sampler(model, seed, truncation, device, codes)
    source = ItemSource(sampler, _choice(recipe, RECIPES, "recipe"))
    real, config = _read_real(data, resolution)
    by_class = {}
    for entry in real:
        if entry.name not in sampler.class_names:
            raise GanaugError(
                f"DATA class {entry.name!r} is not one of the generator's classes ({', '.join(sampler.class_names)})"
            )
        by_class[entry.name] = entry
    counts = [len(by_class[n]) if n in by_class else 0 for n in sampler.class_names]
    declined = goal is None and source.recipe is not None and not source.recipe.add
    if declined:
        added = [0] * len(counts)
    else:
        added = plan_targets(counts, goal or "max", sampler, [sampler.class_index(n) for n in by_class])
    plan = {
        n: {"real": r, "added": a, "total": r + a} for n, r, a in zip(sampler.class_names, counts, added, strict=True)
    }
    return BalancePlan(data, model, seed, plan, declined, source, list(by_class.values()), config, sampler.codes)


def balance(
    data: str | os.PathLike,
    model: str | os.PathLike,
    out: str | os.PathLike,
    *,
    target: str | int | None = None,
    recipe: str = "auto",
    seed: int = 0,
    truncation: float | None = None,
    how: str = "copy",
    resolution: str = "auto",
    device: str = "cpu",
    codes: dict | str | None = None,
    progress: bool = True,
) -> Path:
    """Write a class-balanced copy of DATA to ``out``: its real files plus synthetic ones from MODEL, and
    ``manifest.csv`` (path, class, is_synthetic, seed); returns ``out``. ``plan_balance`` gives the counts first."""
    plan = plan_balance(data, model, target, recipe, seed, truncation, resolution, device, codes)
    return plan.write(out, how, progress)


def _write_new(stem: Path, array, data, used: set[str]) -> Path:
    suffix = {"png": ".png", "npy": ".npy", "tiff": ".tiff"}[data.file_format]
    if stem.with_suffix(suffix).name in used:
        raise GanaugError(f"{stem.with_suffix(suffix)} already exists in DATA; rename that file")
    return write_sample(stem, array, data)


def _integer(text: str, option: str, accepted: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise GanaugError(f"{option} must be {accepted}, got {text!r}") from None
    if value < 0:
        raise GanaugError(f"{option} must be >= 0, got {value}")
    return value


def _choice(value: str, choices: Sequence[str], name: str) -> str:
    if value not in choices:
        raise GanaugError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


# -- generate -------------------------------------------------------------------------------------------------
@dataclass
class GeneratePlan:
    """What ``generate`` writes: ``per_class`` synthetic samples of each chosen class (indices), as ``format``, with
    latent ``codes`` fixed (checked values, ``"sweep"`` or None)."""

    model: str
    per_class: int
    format: str
    seed: int
    chosen: list[int]
    source: ItemSource | None = field(default=None, repr=False)
    codes: dict | str | None = None

    @property
    def classes(self) -> dict[str, int]:
        """Samples per chosen class name."""
        names = self.source.sampler.class_names
        return {names[c]: self.per_class for c in self.chosen}

    def to_dict(self) -> dict[str, Any]:
        """The plan as ``ganaug generate --dry-run`` prints it."""
        plan = {"model": self.model, "format": self.format, "seed": self.seed}
        return {**plan, **_codes_entry(self.codes), "classes": self.classes}

    def write(self, out: str | os.PathLike, progress: bool = True) -> Path:
        """Write the samples to ``out`` (new or empty): ``OUT/<class>/<file>`` + ``manifest.csv``, or a ``datasets``
        dataset (``save_to_disk``); returns ``out``."""
        total = self.per_class * len(self.chosen)
        codes = describe_values(self.codes)
        with staged_output(str(out)) as staged, progress_bar("generate", total, progress) as advance:
            if self.format == "folder":
                _generate_folder(self.source, self.chosen, self.per_class, staged, self.seed, advance, codes)
            else:
                _generate_hf(self.source, self.chosen, self.per_class, staged, advance, codes)
        return Path(out)


def plan_generate(
    model: str | os.PathLike,
    per_class: int,
    format: str = "folder",
    classes: str | Sequence[str | int] | None = None,
    recipe: str = "auto",
    seed: int = 0,
    truncation: float | None = None,
    device: str = "cpu",
    codes: dict | str | None = None,
) -> GeneratePlan:
    """Which classes and how many samples ``generate`` writes (``classes``: names or indices, a list or one
    comma-separated string; None: all), with latent ``codes`` fixed. Nothing is written."""
    if per_class < 0 or seed < 0:
        raise GanaugError(f"--per-class and --seed must be >= 0, got {per_class} and {seed}")
    model = str(model)
    sampler = _sampler(model, seed, truncation, device, codes)
    source = ItemSource(sampler, _choice(recipe, RECIPES, "recipe"))
    wanted = classes.split(",") if isinstance(classes, str) else classes
    if not classes:
        chosen = list(range(len(sampler.class_names)))
    else:
        chosen = sorted({sampler.class_index(c.strip() if isinstance(c, str) else c) for c in wanted})
    return GeneratePlan(model, per_class, _choice(format, FORMATS, "format"), seed, chosen, source, sampler.codes)


def generate(
    model: str | os.PathLike,
    per_class: int,
    out: str | os.PathLike,
    *,
    format: str = "folder",
    classes: str | Sequence[str | int] | None = None,
    recipe: str = "auto",
    seed: int = 0,
    truncation: float | None = None,
    device: str = "cpu",
    codes: dict | str | None = None,
    progress: bool = True,
) -> Path:
    """Write a synthetic labelled dataset from MODEL to ``out``: ``per_class`` samples per class, as a class folder
    with ``manifest.csv`` (``format="folder"``) or a ``datasets`` dataset (``"hf"``); returns ``out``."""
    plan = plan_generate(model, per_class, format, classes, recipe, seed, truncation, device, codes)
    return plan.write(out, progress)


def _blocks(source, chosen, per_class: int, advance):
    """(class index, first k, data-space arrays) per block of items."""
    sampler = source.sampler
    step = sampler.block_size
    for c in chosen:
        for start in range(0, per_class, step):
            ks = range(start, min(per_class, start + step))
            yield c, start, to_data(source.items(c, ks), sampler.data)
            advance(len(ks))


def _generate_folder(source, chosen, per_class: int, out: Path, seed: int, advance, codes: str) -> None:
    sampler = source.sampler
    rows: list[tuple[str, str, bool, int | None]] = []
    safe = file_names(sampler.class_names, sampler.generator.source)
    for c, start, arrays in _blocks(source, chosen, per_class, advance):
        name = sampler.class_names[c]
        for i, array in enumerate(arrays):
            dest = write_sample(_synthetic_name(out / safe[c], seed, start + i), array, sampler.data)
            rows.append((dest.relative_to(out).as_posix(), name, True, source.seed(c, start + i)))
    write_manifest(out, rows, codes)


def _generate_hf(source, chosen, per_class: int, out: Path, advance, codes: str) -> None:
    try:
        import datasets
    except ImportError as exc:
        raise GanaugError("--format hf needs the datasets library: pip install 'ganaug[hf]'") from exc
    from PIL import Image

    sampler = source.sampler
    data = sampler.data
    as_image = data.dtype in ("uint8", "uint16")
    columns: dict[str, list] = {"image": [], "label": [], "is_synthetic": [], "seed": []}
    for c, start, arrays in _blocks(source, chosen, per_class, advance):
        for i, array in enumerate(arrays):
            plane = array[..., 0] if array.shape[-1] == 1 else array
            columns["image"].append(Image.fromarray(plane) if as_image else array)
            columns["label"].append(c)
            columns["is_synthetic"].append(True)
            columns["seed"].append(source.seed(c, start + i))
    if codes:  # the latent codes fixed in every sample, as manifest.csv records them
        columns["codes"] = [codes] * len(columns["seed"])
    image_feature = (
        datasets.Image()
        if as_image
        else datasets.Array3D(shape=(data.height, data.width, data.channels), dtype="float32")
    )
    features = datasets.Features(
        {
            "image": image_feature,
            "label": datasets.ClassLabel(names=sampler.class_names),
            "is_synthetic": datasets.Value("bool"),
            "seed": datasets.Value("int64"),
            **({"codes": datasets.Value("string")} if codes else {}),
        }
    )
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()  # the command shows its own
    try:
        datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(out))
    finally:
        if not was_disabled:
            enable_progress_bars()
