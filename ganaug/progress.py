"""One rich progress bar (with ETA, on stderr) for the commands that loop over items: balance, generate, translate,
evaluate and tune; and the training bar of ``fit`` (on stdout, with a column of current losses) for both tasks.

Example:
    >>> with progress_bar("work", 3, enabled=False) as advance:
    ...     for _ in range(3):
    ...         advance(1)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

LINE_EVERY_S = 30.0


class LineProgress:
    """Progress as plain lines, for logs and pipes (where a live bar would print nothing until the end): a line at
    most every ``every`` seconds and one at the end, with the count, elapsed time, ETA and the task's fields. It has
    the parts of ``rich.progress.Progress`` that ganaug calls.

    Example:
        >>> with LineProgress("fit", sys.stdout, every=0) as bar:  # doctest: +ELLIPSIS
        ...     task = bar.add_task("fit", total=2, losses="")
        ...     bar.update(task, completed=2, losses="D 0.5")
        fit 2/2 100% elapsed 0:00:00 ETA 0:00:00 D 0.5
        fit 2/2 100% elapsed 0:00:00 ETA 0:00:00 D 0.5
    """

    def __init__(self, label: str, file: TextIO, every: float = LINE_EVERY_S):
        self.label, self.file, self.every = label, file, every
        self.total, self.completed, self.start_at, self.fields = 0, 0, 0, {}
        self.t0 = self.last = time.monotonic()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self._print()

    def add_task(self, description: str, total: int = 0, completed: int = 0, **fields: Any) -> int:
        self.total, self.completed, self.start_at, self.fields = total, completed, completed, fields
        return 0

    def update(self, task: int, *, total: int | None = None, completed: int | None = None, advance: int = 0,
               **fields: Any) -> None:  # fmt: skip
        self.total = self.total if total is None else total
        self.completed = (self.completed if completed is None else completed) + advance
        self.fields.update(fields)
        if time.monotonic() - self.last >= self.every:
            self._print()

    def advance(self, task: int, n: int = 1) -> None:
        self.update(task, advance=n)

    def _print(self) -> None:
        self.last = now = time.monotonic()
        elapsed = now - self.t0
        done = self.completed - self.start_at
        left = (self.total - self.completed) * elapsed / done if done > 0 else 0.0
        share = f" {100 * self.completed // self.total}%" if self.total else ""
        extra = " ".join(str(v) for v in self.fields.values() if v)
        line = f"{self.label} {self.completed}/{self.total}{share} elapsed {_clock(elapsed)} ETA {_clock(left)}"
        print(line + (f" {extra}" if extra else ""), file=self.file, flush=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def live_or_lines(label: str, enabled: bool, stderr: bool, *extra: Any, **options: Any):
    """A rich live bar (label, bar, count, elapsed time, ETA, then the ``extra`` columns) on a terminal;
    :class:`LineProgress` in a log or pipe; a disabled bar when not ``enabled``."""
    from rich import progress as rp
    from rich.console import Console

    console = Console(stderr=stderr)
    if enabled and not console.is_terminal:
        return LineProgress(label, sys.stderr if stderr else sys.stdout)
    columns = (
        rp.TextColumn(f"[bold]{label}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TimeElapsedColumn(),
        rp.TextColumn("ETA"),
        rp.TimeRemainingColumn(),
        *extra,
    )
    return rp.Progress(*columns, console=console, disable=not enabled, **options)


@contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar with ETA on stderr (plain lines when stderr is not a terminal); yields ``advance(n)``."""
    bar = live_or_lines(label, enabled, stderr=True)
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)


def fit_bar(enabled: bool, total: int, start: int) -> tuple[Any, int]:
    """The training bar and its task, on stdout: steps with ETA and a losses column (see :func:`losses_text`), plain
    lines in a log, a no-op when not ``enabled``."""
    from rich import progress as rp

    bar = live_or_lines("fit", enabled, False, rp.TextColumn("{task.fields[losses]}"), transient=False)
    return bar, bar.add_task("fit", total=total, completed=start, losses="")


def losses_text(stats: dict[str, float], columns: tuple[tuple[str, str], ...]) -> str:
    """The losses column: a label and value per ``(label, stat)`` pair.

    Example:
        >>> losses_text({"loss_d": 0.5, "loss_g": 1.25}, (("D", "loss_d"), ("G", "loss_g")))
        'D 0.500 G 1.250'
    """
    return " ".join(f"{label} {stats[key]:.3f}" for label, key in columns)
