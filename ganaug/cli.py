"""The ``ganaug`` command line. ``fit``'s options are generated from FitConfig, so help and defaults match."""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import shlex
import sys
from pathlib import Path

import click

from .config import FitConfig
from .errors import GanaugError


def handle_errors(fn):
    """Turn a GanaugError, or an operating-system fault (a full disk, a read-only folder), into a one-line
    ``Error: ...`` and exit status 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GanaugError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(os_fault(exc)) from None

    return wrapper


_FAULT_HINTS = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write elsewhere",
    errno.EFBIG: "the file system refused a file this large: free some space or write elsewhere",
    errno.EROFS: "the folder is on a read-only file system: choose a writable one",
    errno.EACCES: "no permission: choose a folder you can write to",
    errno.EPERM: "no permission: choose a folder you can write to",
}


def os_fault(exc: OSError) -> str:
    """One line for an operating-system fault: what, where and what to do. Files written atomically are left as
    they were (a temporary file is removed), so a resumed run or a new command can start from them."""
    where = f" ({exc.filename})" if exc.filename else ""
    hint = _FAULT_HINTS.get(exc.errno or -1, "check the path and try again")
    return f"{exc.strerror or exc}{where}; {hint}"


def fit_options(fn):
    """Add one ``--kebab-case`` option per FitConfig field, with its help text and default."""
    for f in reversed(dataclasses.fields(FitConfig)):
        flag = "--" + f.name.replace("_", "-")
        helptext = f.metadata.get("help", "")
        choices = f.metadata.get("choices")
        if isinstance(f.default, bool):
            decl = f"{flag}/--no-{f.name.replace('_', '-')}"
            fn = click.option(decl, f.name, default=f.default, show_default=True, help=helptext)(fn)
        else:
            kind = click.Choice(choices) if choices else type(f.default)
            fn = click.option(flag, f.name, type=kind, default=f.default, show_default=True, help=helptext)(fn)
    return fn


def _registry_help() -> str:
    from .builders import ARCHS, LOSSES
    from .presets import PRESETS

    return (
        f"Architectures: {', '.join(ARCHS.names())}. Losses: {', '.join(LOSSES.names())}. "
        f"Presets: {', '.join(PRESETS)}."
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name="ganaug")
def main() -> None:
    """ganaug: train GANs on small labelled data and use them as augmentation."""


class FitCommand(click.Command):
    def format_help_text(self, ctx, formatter):
        super().format_help_text(ctx, formatter)
        with formatter.indentation():
            formatter.write_paragraph()
            formatter.write_text(_registry_help())


@main.command(cls=FitCommand)
@click.argument("data", nargs=-1)
@fit_options
@click.option(
    "--resume", type=click.Path(), default=None, help="continue the run in this folder from its last checkpoint"
)
@click.option("--dry-run", is_flag=True, help="print the resolved configuration and exit")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.pass_context
@handle_errors
def fit(ctx: click.Context, data: tuple[str, ...], resume: str | None, dry_run: bool, quiet: bool, **options) -> None:
    """Train a class-conditional GAN on labelled DATA (class folder, .npz, or hf:NAME); prints the run folder last.

    With --task cyclegan, give two DATA (DATA_A DATA_B, folders of images with or without class subfolders) to train
    an unpaired A<->B translator.
    """
    from .fitting import fit as fit_fn

    if options["task"] == "cyclegan" and not resume:
        from .training.cyclegan_session import domain_pair

        source = domain_pair(data)
    elif len(data) > 1:
        raise GanaugError(f"fit takes one DATA for the conditional task, got {len(data)}: {' '.join(data)}")
    else:
        source = data[0] if data else None
    # only options given on the command line count as set, so the preset fills in the rest
    chosen = {k: v for k, v in options.items() if ctx.get_parameter_source(k) != click.core.ParameterSource.DEFAULT}
    result = fit_fn(source, resume=resume, dry_run=dry_run, progress=not quiet, command=_command(), **chosen)
    if dry_run:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"samples: {result.path / 'export' / 'samples.png'}")
    click.echo(f"model:   {result.export}")
    click.echo(str(result.path))


def _command() -> str:
    """The command line as the card records it, with the home folder written ``~`` (the card is published)."""
    home = str(Path.home()).rstrip("/")
    args = sys.argv[1:] if len(home) < 2 else [a.replace(home + "/", "~/") for a in sys.argv[1:]]
    return shlex.join(["ganaug", *args])


@main.command()
@click.argument("model")
@click.option("--class", "class_", required=True, help="class name or index")
@click.option("--n", "n", type=int, default=16, show_default=True, help="number of samples")
@click.option("--out", required=True, type=click.Path(), help="a .png grid, or a folder for one file per sample")
@click.option("--seed", type=int, default=0, show_default=True, help="random seed")
@click.option("--truncation", type=float, default=None, help="redraw noise values beyond +-T (sharper, less varied)")
@click.option("--audio", is_flag=True, help="spectrogram models: write .wav files (Griffin-Lim) to the --out folder")
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="NAME=VALUE",
    help="models fitted with --info-codes: fix a latent code, e.g. c0=3 or u0=0.5 (repeatable); codes not given are "
    "drawn at random",
)
@handle_errors
def sample(
    model: str, class_: str, n: int, out: str, seed: int, truncation: float | None, audio: bool, codes: tuple[str, ...]
) -> None:
    """Write N samples of class C from MODEL as a PNG grid (*.png) or a folder of files (--audio: wav files)."""
    from .data.convert import write_sample
    from .fileio import check_writable
    from .grid import save_grid
    from .model_sources import load_generator

    g = load_generator(model)
    x = g.sample(class_, n, seed=seed, truncation=truncation, codes=_code_values(codes))
    out_path = Path(out)
    if audio:
        from .spectrograms import write_audio_samples

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


def _code_values(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """``--code NAME=VALUE`` options as a dict (the generator checks names and ranges)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GanaugError(f"--code {pair!r} is not accepted; give NAME=VALUE, e.g. --code c0=3 or --code u0=0.5")
        out[name.strip()] = value.strip()
    return out or None


def _file_name(g, class_: str) -> str:
    """The class's name as a safe file name (class names in a model's config come from outside)."""
    from .names import file_names

    return file_names(g.class_names, g.source)[g.class_index(class_)]


@main.command()
@click.argument("model", required=False)
@handle_errors
def info(model: str | None) -> None:
    """Print a model's config, classes and metrics; without MODEL, list architectures, losses and presets."""
    if model is None:
        from .builders import ARCHS, LOSSES
        from .presets import PRESETS

        click.echo("architectures:")
        for name, entry in ARCHS.items():
            click.echo(f"  {name:10s} {entry.description} (defaults: {json.dumps(entry.defaults)})")
        from .builders import TRANSLATORS

        for name, entry in TRANSLATORS.items():
            click.echo(f"  {name:10s} --task cyclegan: {entry.description}")
        click.echo("options of the class-conditional architectures (biggan, dcgan, mlp):")
        click.echo(
            "  --info-codes cat:K,cont:N  InfoGAN latent codes (Chen et al. 2016): codes that each learn to steer one "
            "factor without labels, set with `ganaug sample --code`"
        )
        click.echo("losses:")
        for name, entry in LOSSES.items():
            click.echo(f"  {name:10s} {entry.description}")
        click.echo("presets:")
        for name, preset in PRESETS.items():
            click.echo(f"  {name:10s} {preset.description}")
        return
    from .fileio import read_json
    from .model_sources import load_generator, resolve_model

    if read_json(resolve_model(model) / "config.json").get("task") == "cyclegan":
        from .commands.translate import info_lines

        click.echo("\n".join(info_lines(model)))
        return
    g = load_generator(model)
    d = g.data
    click.echo(f"source:       {g.source}")
    click.echo(f"architecture: {g.config['arch']} {json.dumps(g.config['arch_args'])}")
    if g.codes:
        click.echo("latent codes: " + ", ".join(f"{c.name} ({c.accepted()})" for c in g.codes) + "; set with --code")
    click.echo(f"samples:      {d.height}x{d.width}, {d.channels} channel(s), {d.dtype}, range {d.value_range}")
    click.echo(f"classes ({g.num_classes}):")
    for i, (c, n) in enumerate(zip(g.class_names, d.class_counts or [""] * g.num_classes, strict=False)):
        click.echo(f"  {i:3d}  {c}  ({n} training samples)")
    click.echo("training:     " + json.dumps(g.config.get("training", {})))
    click.echo("metrics:      " + json.dumps(g.config.get("metrics", {})))


# Commands that live in their own modules register here (one line each).
from .commands.hub import list_cmd, pull, push  # noqa: E402

main.add_command(push)
main.add_command(pull)
main.add_command(list_cmd)
from .commands.balance_generate import balance, generate  # noqa: E402

main.add_command(balance)
main.add_command(generate)
from .commands.translate import translate  # noqa: E402

main.add_command(translate)
from .commands.evaluate import evaluate  # noqa: E402

main.add_command(evaluate)
from .commands.report import report  # noqa: E402

main.add_command(report)
from .commands.tune import tune  # noqa: E402

main.add_command(tune)
