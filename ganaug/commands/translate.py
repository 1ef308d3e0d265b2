"""``ganaug translate MODEL INPUT --out DIR``: apply a CycleGAN to an image file or a folder, names kept.

Each file is translated at its own size and written under the same relative path and name, in the same format and
dtype, with the target domain's channels (a JPEG keeps at most 3).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ..errors import GanaugError
from .errors import handle_errors


def write_like(path: Path, array: np.ndarray) -> Path:
    """Write an H x W x C array in the format of ``path``'s suffix (PNG 8/16-bit, JPEG, BMP, TIFF, .npy), atomically."""
    from PIL import Image

    from ..data.images import encode_png16
    from ..fileio import atomic_write, write_bytes

    suffix = path.suffix.lower()
    plane = array[..., 0] if array.shape[-1] == 1 else array
    if suffix == ".npy":

        def _save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, plane, allow_pickle=False)

        return atomic_write(path, _save)
    if suffix in (".tif", ".tiff"):
        try:
            import tifffile
        except ImportError:
            tifffile = None
        if tifffile is not None:
            photometric = "minisblack" if array.shape[-1] == 1 else "rgb"
            return atomic_write(path, lambda tmp: tifffile.imwrite(tmp, plane, photometric=photometric))
    if suffix == ".png" and array.dtype == np.uint16 and array.shape[-1] > 1:
        return write_bytes(path, encode_png16(array))
    if array.dtype not in (np.uint8, np.uint16):
        raise GanaugError(f"{path.name}: {array.dtype} values cannot be written as {suffix}")
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".png": "PNG"}.get(suffix, "TIFF")
    image = Image.fromarray(plane)
    options = {"quality": 95} if fmt == "JPEG" else {}
    return atomic_write(path, lambda tmp: image.save(tmp, format=fmt, **options))


def list_inputs(source: Path) -> list[tuple[Path, Path]]:
    """(file, relative output path) for a file or every file under a folder, in sorted order."""
    from ..data.files import list_files

    if source.is_file():
        return [(source, Path(source.name))]
    if not source.is_dir():
        raise GanaugError(f"INPUT {str(source)!r} does not exist; give an image file or a folder of images")
    return [(f, f.relative_to(source)) for f in list_files(source)]


@click.command()
@click.argument("model")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="new (or empty) folder for the results")
@click.option(
    "--direction",
    type=click.Choice(["a2b", "b2a"]),
    default="a2b",
    show_default=True,
    help="a2b: INPUT is domain A (the first DATA of `fit --task cyclegan`); b2a: INPUT is domain B",
)
@click.option("--guard", is_flag=True, help="skip files whose translation the model's guard classifies differently")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="where to run"
)
@click.option("--skip-bad", is_flag=True, help="skip unreadable images (counted) instead of stopping")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def translate(
    model: str, input_path: Path, out: Path, direction: str, guard: bool, device: str, skip_bad: bool, quiet: bool
) -> None:
    """Translate INPUT (an image file or a folder, class subfolders kept) with the CycleGAN MODEL; prints DIR last."""
    import torch

    from ..data.images import IMAGE_SUFFIXES, read_image
    from ..generation.synthetic_files import new_output_folder
    from ..progress import progress_bar
    from ..transforms import functional as F
    from ..translation.translator import load_translator, output_spec, to_unit, unit_to_model

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    t = load_translator(model, device=device)
    if guard and t.guard is None:
        raise GanaugError(f"--guard needs the model's guard classifier, but {model} has none (unlabelled domains)")
    files = list_inputs(input_path)
    images = [(f, rel) for f, rel in files if f.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise GanaugError(f"INPUT {str(input_path)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    out = new_output_folder(str(out))
    src, dst = t.domains(direction)
    bad, rejected = [], []
    with progress_bar("translate", len(images), not quiet) as advance:
        for file, rel in images:
            try:
                array = read_image(file)
            except GanaugError as exc:
                if not skip_bad:
                    raise GanaugError(f"{exc}; pass --skip-bad to skip unreadable files") from None
                bad.append(str(file))
                advance()
                continue
            spec = F.describe(array)
            channels = min(dst.channels, 3) if rel.suffix.lower() in (".jpg", ".jpeg") else dst.channels
            target = output_spec(spec, channels)
            x = unit_to_model(to_unit(array, spec), src)
            y = t.translate(x, direction)
            if guard and bool((t.classify(x) != t.classify(y)).any()):
                rejected.append(rel.as_posix())
            else:
                write_like(out / rel, F.finish(F.prepare(y, dst, channels, spec.height, spec.width), target))
            advance()
    skipped = len(files) - len(images)
    if skipped:
        click.echo(f"note: ignored {skipped} non-image file(s)", err=True)
    if bad:
        click.echo(f"note: skipped {len(bad)} unreadable image(s), e.g. {bad[0]}", err=True)
    if rejected:
        (out / "guard_rejected.txt").write_text("\n".join(rejected) + "\n", encoding="utf-8")
        click.echo(f"note: the guard rejected {len(rejected)} translation(s), listed in guard_rejected.txt", err=True)
    click.echo(f"translated {len(images) - len(bad) - len(rejected)} image(s) {direction}")
    click.echo(str(out))


def info_lines(model: str) -> list[str]:
    """What `ganaug info MODEL` prints for a CycleGAN: domains, architecture, training summary, metrics."""
    import json

    from ..translation.translator import load_translator

    t = load_translator(model)
    lines = [f"source:       {t.source}", "task:         cyclegan (translate with `ganaug translate` or GANTranslate)"]
    lines.append(f"architecture: {t.config['arch']} {json.dumps(t.config['arch_args'])}")
    for name, d in (("A", t.data_a), ("B", t.data_b)):
        classes = ", ".join(d.class_names) if d.class_names else "unlabelled"
        lines.append(f"domain {name}:     {d.height}x{d.width}, {d.channels} channel(s), {d.dtype}, {classes}")
    guard = t.config.get("guard")
    lines.append("guard:        " + (f"classes {', '.join(guard['class_names'])}" if guard else "none"))
    lines.append("training:     " + json.dumps(t.config.get("training", {})))
    lines.append("metrics:      " + json.dumps(t.config.get("metrics", {})))
    return lines
