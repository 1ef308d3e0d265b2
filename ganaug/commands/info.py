"""``ganaug info``: a model's config, classes and metrics, or the registered architectures, losses and presets."""

from __future__ import annotations

import json

import click

from .errors import handle_errors


@click.command()
@click.argument("model", required=False)
@handle_errors
def info(model: str | None) -> None:
    """Print a model's config, classes and metrics; without MODEL, list architectures, losses and presets."""
    if model is None:
        from ..builders import ARCHS, LOSSES
        from ..presets import PRESETS

        click.echo("architectures:")
        for name, entry in ARCHS.items():
            click.echo(f"  {name:10s} {entry.description} (defaults: {json.dumps(entry.defaults)})")
        from ..builders import TRANSLATORS

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
    from ..fileio import read_json
    from ..hub.sources import load_generator, resolve_model

    if read_json(resolve_model(model) / "config.json").get("task") == "cyclegan":
        from .translate import info_lines

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
