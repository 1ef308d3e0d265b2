"""One rich progress bar (with ETA, on stderr) for the commands that loop over items: balance, generate, translate,
evaluate and tune.

Example:
    >>> with progress_bar("work", 3, enabled=False) as advance:
    ...     for _ in range(3):
    ...         advance(1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar with ETA on stderr; yields ``advance(n)``."""
    from rich import progress as rp
    from rich.console import Console

    bar = rp.Progress(
        rp.TextColumn(f"[bold]{label}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TimeElapsedColumn(),
        rp.TextColumn("ETA"),
        rp.TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
