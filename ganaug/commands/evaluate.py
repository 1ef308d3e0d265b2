"""``ganaug evaluate MODEL DATA --test TEST``: measured downstream uplift against the controls."""

from __future__ import annotations

import json

import click

from .errors import handle_errors


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma list of numbers") from None


def _recipe(text: str):
    """``'ratio=1,filter=teacher'`` -> a Recipe (values parsed as JSON numbers where they are numbers)."""
    from ..downstream.recipe import Recipe

    fields = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep:
            raise click.BadParameter(f"{part!r} in --recipe {text!r} is not KEY=VALUE")
        try:
            fields[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            fields[key.strip()] = value.strip()
    return Recipe.from_dict(fields)


@click.command("evaluate")
@click.argument("model")
@click.argument("data")
@click.option("--test", "test", required=True, help="real test data (never used to choose anything)")
@click.option("--val", default=None, help="real validation data; default: carve --val-fraction out of DATA")
@click.option("--val-fraction", type=float, default=0.2, show_default=True, help="validation part carved from DATA")
@click.option("--seeds", type=int, default=5, show_default=True, help="classifier trainings per arm")
@click.option("--epochs", type=int, default=30, show_default=True, help="classifier epochs per training")
@click.option(
    "--steps",
    type=int,
    default=0,
    show_default=True,
    help="optimizer steps per training, the same for "
    "every arm; 0 = --epochs passes over the real training part, at least 500",
)
@click.option("--ratios", default="1", show_default=True, help="synthetic-per-real ratios of the default recipes")
@click.option(
    "--recipe",
    "recipes",
    multiple=True,
    help="a candidate recipe as KEY=VALUE pairs, e.g. 'ratio=1,filter=teacher,labels=soft,temperature=2' (keys: "
    "ratio, weight, filter none|teacher, threshold, labels hard|soft, temperature, spread, refresh, finetune, "
    "distill true|false); repeat it for several; default: six recipes per ratio (plain, teacher filter, soft labels, "
    "two-stage, spread, on top of distillation)",
)
@click.option(
    "--train-fraction",
    type=float,
    default=None,
    help="the 'small' regime: a stratified fraction of DATA; default: the fraction the model was fitted with",
)
@click.option(
    "--minority-fraction",
    type=float,
    default=None,
    help="the 'imbalanced' regime: keep this fraction of "
    "every class but the largest; default: the fraction the model was fitted with",
)
@click.option("--split", default="train", show_default=True, help="split of DATA for .npz / Hugging Face data")
@click.option("--test-split", default="test", show_default=True, help="split of TEST for .npz / Hugging Face data")
@click.option("--val-split", default="val", show_default=True, help="split of --val for .npz / Hugging Face data")
@click.option("--labels", default="", help="DATA is a flat folder: a CSV of file,class (as in ganaug fit)")
@click.option("--test-labels", default="", help="TEST is a flat folder: a CSV of file,class")
@click.option("--val-labels", default="", help="--val is a flat folder: a CSV of file,class")
@click.option("--label-pattern", default="", help="flat folders: a regex whose first group is the class")
@click.option("--quality/--no-quality", default=True, show_default=True, help="also measure FID, KID, P/R, CAS")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="where")
@click.option(
    "--jobs",
    type=int,
    default=0,
    show_default=True,
    help="worker processes training seeds side by side on a CPU; 0 = one per core (the results are the same)",
)
@click.option("--out", default=None, help="output folder; default: the model's export folder (updates its card)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def evaluate(model: str, data: str, test: str, ratios: str, recipes: tuple[str, ...], quiet: bool, **options) -> None:
    """Train the same small classifier K times per arm (real only, duplicated minority, classical augmentation,
    teacher distillation, real + ganaug by each candidate recipe) and report accuracy, balanced accuracy, macro-F1
    and AUC with 95% intervals, paired uplifts, a verdict and the recommended recipe."""
    from ..evaluation.evaluate import evaluate as evaluate_fn

    result = evaluate_fn(
        model,
        data,
        test,
        ratios=_floats(ratios),
        recipes=[_recipe(text) for text in recipes] or None,
        progress=not quiet,
        warn=lambda msg: click.echo(msg, err=True),
        **options,
    )
    click.echo(result["markdown"])
    for path in result["outputs"].values():
        click.echo(path)
