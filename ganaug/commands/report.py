"""``ganaug report RUN``: a self-contained HTML report of a run folder."""

from __future__ import annotations

import click

from .errors import handle_errors


@click.command("report")
@click.argument("run", type=click.Path())
@click.option("--out", default=None, type=click.Path(), help="HTML file to write; default: RUN/report.html")
@click.option("--seed", type=int, default=0, show_default=True, help="noise seed of the sample grids")
@handle_errors
def report(run: str, out: str | None, seed: int) -> None:
    """Write one HTML file with sample grids, training curves, features, memorisation pairs, evaluation, config."""
    from ..report import build_report

    click.echo(str(build_report(run, out, seed=seed)))
