"""``ganaug tune DATA --trials N``: hyperparameter search with Optuna, objective FID on a per-trial step budget."""

from __future__ import annotations

import click

from .errors import handle_errors


@click.command("tune")
@click.argument("data")
@click.option("--trials", type=int, default=20, show_default=True, help="number of trials (short fits)")
@click.option("--steps", type=int, default=1000, show_default=True, help="training steps per trial (the budget)")
@click.option("--timeout", type=float, default=None, help="stop starting new trials after this many seconds")
@click.option("--out", default="runs/tune", show_default=True, type=click.Path(), help="folder for trials and results")
@click.option("--preset", default="natural", show_default=True, help="preset kept in every trial")
@click.option("--arch", default="biggan", show_default=True, help="architecture kept in every trial")
@click.option("--batch-size", type=int, default=64, show_default=True, help="batch size kept in every trial")
@click.option("--extractor", type=click.Choice(["auto", "inception", "classifier"]), default="auto", show_default=True,
              help="feature extractor of the FID objective")  # fmt: skip
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="where")
@click.option("--split", default="train", show_default=True, help="split to train on for .npz / Hugging Face data")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the search and of every trial")
@click.option("--quiet", is_flag=True, help="no progress bar")
@handle_errors
def tune(data: str, trials: int, steps: int, timeout: float | None, out: str, extractor: str, seed: int,
         quiet: bool, **fixed) -> None:  # fmt: skip
    """Search learning rates, loss, augmentation policy and width; write the best options as best_config.json."""
    from ..evaluation.tune import tune as tune_fn

    result = tune_fn(
        data, trials=trials, steps=steps, timeout=timeout, out=out, extractor=extractor, seed=seed,
        progress=not quiet, **fixed,
    )  # fmt: skip
    click.echo(f"objective: {result['objective']}")
    for r in result["trials"]:
        value = f"{r['fid']:.3f}" if r["fid"] is not None else f"failed ({r.get('error', '')})"
        click.echo(f"  trial {r['trial']:3d}  FID {value}  {r['options']}")
    click.echo(f"best: FID {result['best']['fid']:.3f}; train with:\n  {result['best']['command']}")
    click.echo(result["best_config"])
