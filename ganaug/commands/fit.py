"""``ganaug fit``: its options are generated from FitConfig, so help and defaults match ``ganaug.fit``."""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..config import FitConfig
from ..errors import GanaugError
from .errors import handle_errors


def fit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
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
    from ..builders import ARCHS, LOSSES
    from ..presets import PRESETS

    return (
        f"Architectures: {', '.join(ARCHS.names())}. Losses: {', '.join(LOSSES.names())}. "
        f"Presets: {', '.join(PRESETS)}."
    )


class FitCommand(click.Command):
    """A command whose help ends with the registered architectures, losses and presets."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        with formatter.indentation():
            formatter.write_paragraph()
            formatter.write_text(_registry_help())


@click.command(cls=FitCommand)
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
    from ..fitting import fit as fit_fn

    if options["task"] == "cyclegan" and not resume:
        from ..training.cyclegan_task import domain_pair

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
    from ..training.engine import launched_rank

    if launched_rank() != 0:
        return  # under torchrun only rank 0 has a run folder to name
    click.echo(f"samples: {result.path / 'export' / 'samples.png'}")
    click.echo(f"model:   {result.export}")
    click.echo(str(result.path))


def _command() -> str:
    """The command line as the card records it, with the home folder written ``~`` (the card is published)."""
    home = str(Path.home()).rstrip("/")
    args = sys.argv[1:] if len(home) < 2 else [a.replace(home + "/", "~/") for a in sys.argv[1:]]
    return shlex.join(["ganaug", *args])
