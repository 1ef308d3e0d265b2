"""``ganaug balance`` and ``ganaug generate``: options and messages around ``ganaug.generation.synthetic_files``,
which writes the files (and is the Python entry point: ``balance``, ``generate``, ``plan_balance``,
``plan_generate``)."""

from __future__ import annotations

import json

import click

from ..errors import GanaugError
from .codes import CODE_OPTION, code_values
from .errors import handle_errors

RECIPE_OPTION = click.option(
    "--recipe",
    type=click.Choice(["auto", "none"]),
    default="auto",
    show_default=True,
    help="auto: the model's recipe (teacher filter, latent spread) as written by ganaug evaluate; none: plain samples",
)


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
@CODE_OPTION
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
    codes: tuple[str, ...],
    dry_run: bool,
    quiet: bool,
) -> None:
    """Write a class-balanced copy of DATA: its real files plus synthetic ones from MODEL, and manifest.csv."""
    from ..generation import synthetic_files  # torch and the data readers: not for `ganaug --help`

    fixed = code_values(codes)
    plan = synthetic_files.plan_balance(data, model, target, recipe, seed, truncation, resolution, device, fixed)
    if plan.declined:
        click.echo("note: the model's recipe says not to add synthetic samples; pass --target to add some", err=True)
    if dry_run:
        click.echo(json.dumps(plan.to_dict(), indent=2))
        return
    out_path = plan.write(out, how, progress=not quiet)
    click.echo(f"balanced ({plan.summary()}); manifest: {out_path / synthetic_files.MANIFEST}", err=True)
    click.echo(str(out_path))


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
@CODE_OPTION
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
    codes: tuple[str, ...],
    push_repo: str | None,
    private: bool,
    token: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Write a synthetic labelled dataset from MODEL: N samples per class, as a class folder or a datasets dataset."""
    if push_repo and fmt != "hf" and per_class >= 0 and seed >= 0:  # before the model loads; bad counts first
        raise GanaugError("--push uploads a Hugging Face dataset: use it with --format hf")
    from ..generation import synthetic_files

    fixed = code_values(codes)
    plan = synthetic_files.plan_generate(model, per_class, fmt, classes, recipe, seed, truncation, device, fixed)
    if dry_run:
        click.echo(json.dumps(plan.to_dict(), indent=2))
        return
    out_path = plan.write(out, progress=not quiet)
    if push_repo:
        from ..hub.transfer import push_dataset

        click.echo(str(push_dataset(out_path, push_repo, private=private, token=token)))
    click.echo(str(out_path))
