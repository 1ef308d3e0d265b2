"""The ``ganaug`` command line: the click group. Each command, its options and messages live in ``ganaug.commands``."""

from __future__ import annotations

import click

from .commands.balance_generate import balance, generate
from .commands.evaluate import evaluate
from .commands.fit import fit
from .commands.hub import list_cmd, pull, push
from .commands.info import info
from .commands.report import report
from .commands.sample import sample
from .commands.translate import translate
from .commands.tune import tune


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name="ganaug")
def main() -> None:
    """ganaug: train GANs on small labelled data and use them as augmentation."""


for _command in (fit, sample, info, push, pull, list_cmd, balance, generate, translate, evaluate, report, tune):
    main.add_command(_command)
