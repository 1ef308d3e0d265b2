"""``ganaug balance`` and ``ganaug generate``: synthetic samples written as files (or a ``datasets`` dataset).

Synthetic file ``k`` of class ``c`` is item ``k`` of the model's recipe (``ganaug.recipe.ItemSource``: the teacher
filter's ``k``-th accepted item, at the recipe's latent spread) for the command's seed, the sample that
``ClassBalancedDataset`` returns, and ``manifest.csv`` records its own noise seed (``ganaug sample MODEL --class C
--n 1 --seed SEED`` draws it again at spread 1). Without a recipe (or ``--recipe none``) item ``k`` is
``Sampler.item(c, k)``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from ..cli import handle_errors
from ..errors import GanaugError
from ..names import file_names
from ..progress import progress_bar
from ..recipe import ItemSource

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "class", "is_synthetic", "seed")
SYNTHETIC_PREFIX = "ganaug"


RECIPE_OPTION = click.option(
    "--recipe",
    type=click.Choice(["auto", "none"]),
    default="auto",
    show_default=True,
    help="auto: the model's recipe (teacher filter, latent spread) as written by ganaug evaluate; none: plain samples",
)


def new_output_folder(out: str) -> Path:
    """``out`` created (or already there and empty) and writable."""
    from ..fileio import check_writable

    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise GanaugError(f"output folder {out!r} exists and is not empty; choose a new folder")
    return check_writable(path)


@contextlib.contextmanager
def staged_output(out: str) -> Iterator[Path]:
    """Write the output folder under a temporary name beside ``out`` and rename it into place at the end: a failed
    or interrupted command (a full disk, Ctrl-C) leaves no partial ``out``, and of two commands writing the same
    ``out`` the second gets a clear error instead of mixed files."""
    from ..fileio import file_mode

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


def write_manifest(out: Path, rows: list[tuple[str, str, bool, int | None]]) -> Path:
    """``manifest.csv``: path (relative to ``out``), class, is_synthetic (true/false), seed (synthetic files)."""
    from ..fileio import write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for path, name, synthetic, seed in rows:
        writer.writerow([path, name, "true" if synthetic else "false", "" if seed is None else seed])
    return write_text(out / MANIFEST, buffer.getvalue())


def _sampler(model: str, seed: int, truncation: float | None, device: str):
    from ..sampling import Sampler

    return Sampler(model, seed=seed, truncation=truncation, device=device)


def _synthetic_name(class_dir: Path, seed: int, k: int) -> Path:
    return class_dir / f"{SYNTHETIC_PREFIX}_{seed}_{k:05d}"


# -- balance --------------------------------------------------------------------------------------------------
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
    from ..data import HF_MARKERS, read_data
    from ..data.convert import IMAGE_SUFFIXES, read_image
    from ..data.files import list_classes, list_files

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
    from ..data.convert import to_data, write_sample

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


@click.command()
@click.argument("data")
@click.argument("model")
@click.option("--out", required=True, type=click.Path(), help="output folder (new or empty): OUT/<class>/<file>")
@click.option(
    "--target",
    default=None,
    help="samples per class afterwards: max or N; default max, or none added when the model's recipe says not to add",
)
@RECIPE_OPTION
@click.option("--seed", type=int, default=0, show_default=True, help="random seed of the synthetic samples")
@click.option("--truncation", type=float, default=None, help="redraw noise values beyond +-T (sharper, less varied)")
@click.option(
    "--real",
    "how",
    type=click.Choice(["copy", "hardlink", "symlink"]),
    default="copy",
    show_default=True,
    help="how real files of a class-folder DATA get into OUT (.npz and Hugging Face DATA are written as files)",
)
@click.option("--resolution", default="auto", show_default=True, help=".npz / Hugging Face DATA: size, as in fit")
@click.option("--device", default="cpu", show_default=True, help="where the generator runs (cpu, cuda)")
@click.option("--dry-run", is_flag=True, help="print the counts per class and exit")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def balance(
    data: str,
    model: str,
    out: str,
    target: str | None,
    recipe: str,
    seed: int,
    truncation: float | None,
    how: str,
    resolution: str,
    device: str,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Write a class-balanced copy of DATA: its real files plus synthetic ones from MODEL, and manifest.csv."""
    from ..datasets import plan_targets
    from ..transforms import functional as F

    if seed < 0:
        raise GanaugError(f"--seed must be >= 0, got {seed}")
    goal: object = target if target in (None, "max") else _integer(target, "--target", "max or a count N")
    sampler = _sampler(model, seed, truncation, device)
    source = ItemSource(sampler, recipe)
    real, config = _read_real(data, resolution)
    by_class = {}
    for entry in real:
        if entry.name not in sampler.class_names:
            raise GanaugError(
                f"DATA class {entry.name!r} is not one of the generator's classes ({', '.join(sampler.class_names)})"
            )
        by_class[entry.name] = entry
    counts = [len(by_class[n]) if n in by_class else 0 for n in sampler.class_names]
    if goal is None and source.recipe is not None and not source.recipe.add:
        click.echo("note: the model's recipe says not to add synthetic samples; pass --target to add some", err=True)
        added = [0] * len(counts)
    else:
        added = plan_targets(counts, goal or "max", sampler, [sampler.class_index(n) for n in by_class])
    plan = {
        n: {"real": r, "added": a, "total": r + a} for n, r, a in zip(sampler.class_names, counts, added, strict=True)
    }
    if dry_run:
        click.echo(json.dumps({"data": data, "model": model, "seed": seed, "classes": plan}, indent=2))
        return
    fallback = next((e.shape for e in real if e.shape is not None), None)
    rows: list[tuple[str, str, bool, int | None]] = []
    safe = dict(zip(sampler.class_names, file_names(sampler.class_names, model), strict=True))
    with staged_output(out) as staged, progress_bar("balance", sum(counts) + sum(added), not quiet) as advance:
        for name, entry in by_class.items():
            c = sampler.class_index(name)
            class_dir = staged / safe[name]
            class_dir.mkdir(parents=True, exist_ok=True)
            used: set[str] = set()
            _copy_real(entry, class_dir, how, config, used, rows, advance)
            h, w, ch = entry.shape or fallback or (0, 0, 0)
            spec = F.data_spec(sampler.data, h, w, ch)
            for k in range(added[c]):
                array = F.render(source.items(c, [k])[0], sampler.data, spec)
                dest = _write_new(_synthetic_name(class_dir, seed, k), array, sampler.data, used)
                rows.append((dest.relative_to(staged).as_posix(), name, True, source.seed(c, k)))
                advance(1)
        write_manifest(staged, rows)
    out_path = Path(out)
    summary = ", ".join(f"{n}: {p['real']}+{p['added']}" for n, p in plan.items())
    click.echo(f"balanced ({summary}); manifest: {out_path / MANIFEST}", err=True)
    click.echo(str(out_path))


def _write_new(stem: Path, array, data, used: set[str]) -> Path:
    from ..data.convert import write_sample

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


# -- generate -------------------------------------------------------------------------------------------------
@click.command()
@click.argument("model")
@click.option("--per-class", "per_class", type=int, required=True, help="synthetic samples per class")
@click.option("--out", required=True, type=click.Path(), help="output folder (new or empty)")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["folder", "hf"]),
    default="folder",
    show_default=True,
    help="folder: OUT/<class>/<file> + manifest.csv; hf: a datasets dataset (save_to_disk)",
)
@click.option("--classes", default=None, help="comma-separated class names or indices [default: all]")
@RECIPE_OPTION
@click.option("--seed", type=int, default=0, show_default=True, help="random seed")
@click.option("--truncation", type=float, default=None, help="redraw noise values beyond +-T (sharper, less varied)")
@click.option("--device", default="cpu", show_default=True, help="where the generator runs (cpu, cuda)")
@click.option("--push", "push_repo", default=None, help="with --format hf: also upload the dataset to this Hub repo")
@click.option("--private", is_flag=True, help="with --push: create the Hub repo private")
@click.option("--token", default=None, help="with --push: Hub access token (default: $HF_TOKEN or the saved login)")
@click.option("--dry-run", is_flag=True, help="print what would be written and exit")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def generate(
    model: str,
    per_class: int,
    out: str,
    fmt: str,
    classes: str | None,
    recipe: str,
    seed: int,
    truncation: float | None,
    device: str,
    push_repo: str | None,
    private: bool,
    token: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Write a synthetic labelled dataset from MODEL: N samples per class, as a class folder or a datasets dataset."""
    if per_class < 0 or seed < 0:
        raise GanaugError(f"--per-class and --seed must be >= 0, got {per_class} and {seed}")
    if push_repo and fmt != "hf":
        raise GanaugError("--push uploads a Hugging Face dataset: use it with --format hf")
    sampler = _sampler(model, seed, truncation, device)
    source = ItemSource(sampler, recipe)
    names = sampler.class_names
    chosen = range(len(names)) if not classes else sorted({sampler.class_index(c.strip()) for c in classes.split(",")})
    if dry_run:
        plan = {"model": model, "format": fmt, "seed": seed, "classes": {names[c]: per_class for c in chosen}}
        click.echo(json.dumps(plan, indent=2))
        return
    with staged_output(out) as staged, progress_bar("generate", per_class * len(chosen), not quiet) as advance:
        if fmt == "folder":
            _generate_folder(source, chosen, per_class, staged, seed, advance)
        else:
            _generate_hf(source, chosen, per_class, staged, advance)
    out_path = Path(out)
    if push_repo:
        from ..hub import push_dataset

        click.echo(str(push_dataset(out_path, push_repo, private=private, token=token)))
    click.echo(str(out_path))


def _blocks(source, chosen, per_class: int, advance):
    """(class index, first k, data-space arrays) per block of items."""
    from ..data.convert import to_data

    sampler = source.sampler
    step = sampler.block_size
    for c in chosen:
        for start in range(0, per_class, step):
            ks = range(start, min(per_class, start + step))
            yield c, start, to_data(source.items(c, ks), sampler.data)
            advance(len(ks))


def _generate_folder(source, chosen, per_class: int, out: Path, seed: int, advance) -> None:
    from ..data.convert import write_sample

    sampler = source.sampler
    rows: list[tuple[str, str, bool, int | None]] = []
    safe = file_names(sampler.class_names, sampler.generator.source)
    for c, start, arrays in _blocks(source, chosen, per_class, advance):
        name = sampler.class_names[c]
        for i, array in enumerate(arrays):
            dest = write_sample(_synthetic_name(out / safe[c], seed, start + i), array, sampler.data)
            rows.append((dest.relative_to(out).as_posix(), name, True, source.seed(c, start + i)))
    write_manifest(out, rows)


def _generate_hf(source, chosen, per_class: int, out: Path, advance) -> None:
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
