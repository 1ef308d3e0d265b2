"""``ganaug sample``: samples of one class from a model, as a PNG grid or one file per sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .codes import CODE_OPTION, code_values
from .errors import handle_errors


@click.command()
@click.argument("model")
@click.option("--class", "class_", required=True, help="class name or index")
@click.option("--n", "n", type=int, default=16, show_default=True, help="number of samples")
@click.option("--out", required=True, type=click.Path(), help="a .png grid, or a folder for one file per sample")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed")
@click.option("--truncation", type=float, default=None, help="redraw noise values beyond +-T (sharper, less varied)")
@click.option("--audio", is_flag=True, help="spectrogram models: write .wav files (Griffin-Lim) to the --out folder")
@CODE_OPTION
@handle_errors
def sample(
    model: str, class_: str, n: int, out: str, seed: int, truncation: float | None, audio: bool, codes: tuple[str, ...]
) -> None:
    """Write N samples of class C from MODEL as a PNG grid (*.png) or a folder of files (--audio: wav files)."""
    from ..data.convert import write_sample
    from ..fileio import check_writable
    from ..generation.grid import save_grid
    from ..hub.sources import load_generator

    g = load_generator(model)
    x = g.sample(class_, n, seed=seed, truncation=truncation, codes=code_values(codes))
    out_path = Path(out)
    if audio:
        from ..generation.spectrograms import write_audio_samples

        check_writable(out_path)
        write_audio_samples(g, x, out_path, f"{_file_name(g, class_)}_{seed}")
        click.echo(str(out_path))
        return
    if out_path.suffix.lower() == ".png":
        check_writable(out_path.parent if str(out_path.parent) else Path("."))
        save_grid(x, min(n, 8), out_path)
        click.echo(str(out_path))
        return
    check_writable(out_path)
    arrays = g.to_data(x)
    name = _file_name(g, class_)
    for i, arr in enumerate(arrays):
        write_sample(out_path / f"{name}_{seed}_{i:05d}", arr, g.data)
    click.echo(str(out_path))


def _file_name(g: Any, class_: str) -> str:
    """The class's name as a safe file name (class names in a model's config come from outside)."""
    from ..names import file_names

    return file_names(g.class_names, g.source)[g.class_index(class_)]
