"""``ganaug evaluate MODEL DATA --test TEST``: measured downstream uplift against the controls."""

from __future__ import annotations

import click

from ..cli import handle_errors


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma list of numbers") from None


@click.command("evaluate")
@click.argument("model")
@click.argument("data")
@click.option("--test", "test", required=True, help="real test data (never used to choose anything)")
@click.option("--val", default=None, help="real validation data; default: carve --val-fraction out of DATA")
@click.option("--val-fraction", type=float, default=0.2, show_default=True, help="validation part carved from DATA")
@click.option("--seeds", type=int, default=5, show_default=True, help="classifier trainings per arm")
@click.option("--epochs", type=int, default=30, show_default=True, help="classifier epochs per training")
@click.option("--ratios", default="0.5,1", show_default=True, help="candidate synthetic-per-real ratios (comma list)")
@click.option(
    "--filters",
    default="none,confidence,gate",
    show_default=True,
    help="candidate synthetic filters: none, confidence (most class-typical half), gate (confidence + duplicates for "
    "classes whose samples fail a per-class quality gate), discriminator (the half the run's own discriminator "
    "scores most real; MODEL must be a run folder)",
)
@click.option("--split", default="train", show_default=True, help="split of DATA for .npz / Hugging Face data")
@click.option("--test-split", default="test", show_default=True, help="split of TEST for .npz / Hugging Face data")
@click.option("--val-split", default="val", show_default=True, help="split of --val for .npz / Hugging Face data")
@click.option("--quality/--no-quality", default=True, show_default=True, help="also measure FID, KID, P/R, CAS")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="where")
@click.option("--out", default=None, help="output folder; default: the model's export folder (updates its card)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def evaluate(model: str, data: str, test: str, ratios: str, filters: str, quiet: bool, **options) -> None:
    """Train the same small classifier K times per arm (real only, duplicated minority, classical augmentation,
    real + ganaug) and report accuracy, balanced accuracy, macro-F1 and AUC with 95% intervals and a verdict."""
    from ..evaluate import evaluate as evaluate_fn

    result = evaluate_fn(
        model,
        data,
        test,
        ratios=_floats(ratios),
        filters=tuple(f.strip() for f in filters.split(",") if f.strip()),
        progress=not quiet,
        warn=lambda msg: click.echo(msg, err=True),
        **options,
    )
    click.echo(result["markdown"])
    for path in result["outputs"].values():
        click.echo(path)
