"""``--max-time``: a training run planned to a wall-clock budget.

The budget is wall-clock time from the start of the session: the teacher classifier, sample grids, checkpoints and
fit-time evaluations count, and ``SAFETY`` of it is left for the export. The run measures its step time over the
first ``CALIBRATION_STEPS`` steps and plans its number of steps to what the rest of the budget holds (at most
``--steps`` when that is given too: whichever ends first). Every ``REPLAN_EVERY`` steps it plans again from the
recent time per step (grids and evaluations included), so a machine that slows down or speeds up moves the end;
at the deadline it stops whatever the plan said. The plan is saved with the run, so a resumed run keeps it and
counts the time already spent; what depends on the run's length follows the planned steps: the learning-rate
schedule, the sample-grid, checkpoint and evaluation intervals (unless set) and the adaptive augmentation's speed
(unless set). All processes of a torchrun job plan from their mean times and stop at the same step.

Example:
    >>> parse_duration("1h30m"), parse_duration("90s"), parse_duration("10m")
    (5400.0, 90.0, 600.0)
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Collection

import torch

from ..config import FitConfig
from ..errors import GanaugError

CALIBRATION_STEPS = 20
CPU_DEFAULT_SECONDS = 600  # --max-time auto on a CPU: 10 minutes for images of up to 32x32 pixels
CPU_DEFAULT_PIXELS = 32 * 32
SAFETY = 0.97  # plan for a little less than the budget: the export follows the last step
DEADLINE = 0.985  # whatever the plan says, training stops here and leaves the rest for the export
REPLAN_EVERY = 10  # steps between re-plans (and, in a torchrun job, between the processes' agreements)
REPLAN_WINDOW = 0.1  # the recent step time is measured over this fraction of the planned steps (10 at least)
REPLAN_SLACK = 0.02  # a new plan replaces the old only when they differ by more than this fraction
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


def parse_duration(text: str | float | int) -> float:
    """Seconds in a duration: ``90s``, ``10m``, ``1h``, ``1h30m``, ``2.5m`` or a plain number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        value = str(text).strip().lower().replace(" ", "")
        try:
            seconds = float(value)
        except ValueError:
            parts = _DURATION.findall(value)
            if not parts or "".join(n + u for n, u in parts) != value:
                raise GanaugError(f"--max-time {text!r} is not a duration; give e.g. 90s, 10m, 1h or 1h30m") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise GanaugError(f"--max-time {text!r} must be a positive duration, e.g. 90s, 10m or 1h")
    return seconds


def budget_option(text: str) -> str:
    """``--max-time`` as given: ``""`` for no budget (``none`` or empty), ``auto`` kept for :func:`default_budget`,
    anything else checked to be a duration."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return ""
    if text != "auto":
        parse_duration(text)
    return text


def default_budget(cfg: FitConfig, user_set: Collection[str], height: int, width: int) -> FitConfig:
    """``--max-time auto``: on a CPU, a run without ``--steps`` is planned to ``CPU_DEFAULT_SECONDS`` for images of up
    to ``CPU_DEFAULT_PIXELS`` pixels, and as much longer as they have more pixels (about the same number of steps at
    any size); on a GPU, or with ``--steps``, no budget."""
    if cfg.max_time != "auto":
        return cfg
    from .engine import planned_engine

    if "steps" in user_set or planned_engine(cfg.device, cfg.precision)["device"] != "cpu":
        return cfg.replace(max_time="")
    seconds = CPU_DEFAULT_SECONDS * max(1.0, height * width / CPU_DEFAULT_PIXELS)
    return cfg.replace(max_time=f"{round(seconds)}s")


def cpu_groups(cfg: FitConfig, user_set: Collection[str]) -> list[dict]:
    """The groups of the preset's cheaper CPU defaults (``Preset.cpu_fit``) that a run gets: on a CPU, without
    ``--steps`` (so a run that a time budget ends), each group whose options the user left unset."""
    from ..presets import get_preset
    from .engine import planned_engine

    groups = [g for g in get_preset(cfg.preset).cpu_fit if not set(g) & set(user_set)]
    if not groups or "steps" in user_set or planned_engine(cfg.device, cfg.precision)["device"] != "cpu":
        return []
    return groups


def cpu_note(cfg: FitConfig, user_set: Collection[str]) -> str:
    """What the user reads when :func:`cpu_groups` changed the fit: the options applied and those that give the
    preset's own; "" when nothing changed."""
    from ..presets import get_preset

    groups = cpu_groups(cfg, user_set)
    if not groups:
        return ""
    full = FitConfig().replace(**get_preset(cfg.preset).fit).to_dict()
    given = " ".join(f"--{k.replace('_', '-')} {v}" for g in groups for k, v in g.items() if v)
    own = " ".join(f"--{k.replace('_', '-')} {full[k]}" for g in groups for k in g if full[k])
    return (
        f"on this CPU the {cfg.preset} preset trains with its CPU defaults ({given}), with which a time budget goes "
        f"further; give {own or 'other values'} (or --steps) for its own"
    )


def since(started: float | None) -> float:
    """Seconds since ``started`` (a ``time.perf_counter()`` value; 0 for None)."""
    return 0.0 if started is None else time.perf_counter() - started


def describe_plan(cfg: FitConfig, user_set: set[str]) -> dict | None:
    """What ``--dry-run`` shows of a budgeted run (None without ``--max-time``)."""
    if not cfg.max_time:
        return None
    seconds = parse_duration(cfg.max_time)
    return {
        "max_time_s": seconds,
        "calibration_steps": CALIBRATION_STEPS,
        "steps": f"planned after {CALIBRATION_STEPS} steps from their measured time to fill {SAFETY:.0%} of "
        f"{seconds:g} s of wall-clock time (the teacher, grids, checkpoints and evaluations count), planned again "
        f"every {REPLAN_EVERY} steps from the recent step time, stopped at {DEADLINE:.1%} whatever the plan"
        + (f", at most {cfg.steps} (--steps: whichever ends first)" if "steps" in user_set else ""),
        "scaled with the planned steps": [
            name
            for name in ("lr schedule", "sample_every", "checkpoint_every", "eval_every", "ada_kimg")
            if name == "lr schedule" or name not in user_set
        ],
    }


class Budget:
    """Plans and stops one run; ``check(cfg, step, spent)`` after every step returns the config to continue with (a
    new one when the plan changes) and whether to stop now. ``spent()`` is the wall-clock time used so far, this
    session's and what the run had used before a resume."""

    def __init__(self, cfg: FitConfig, engine, start_step: int, spent: float, user_set: set[str]):
        self.seconds = parse_duration(cfg.max_time)
        self.engine, self.user_set = engine, set(user_set)
        self.clock0 = time.perf_counter() - spent
        self.planned = start_step >= CALIBRATION_STEPS  # a resumed run keeps its saved plan
        self.first: tuple[int, float] | None = None  # (step, spent) after this session's first step
        self.marks: deque[tuple[int, float]] = deque()  # (step, spent) every REPLAN_EVERY steps
        self.agreed: float | None = None  # the last time spent that all processes agree on (every step in one)
        # what re-plans start from: the user's --steps caps them (a resumed run's saved plan caps its re-plans), and
        # the adaptive augmentation's speed is scaled from its value before any plan
        self.cap = cfg.steps if ("steps" in self.user_set or self.planned) else None
        scale = min(1.0, cfg.steps / FitConfig().steps) if self.planned and "ada_kimg" not in self.user_set else 1.0
        self.base_ada_kimg = cfg.ada_kimg / max(scale, 1e-9)
        if spent >= self.seconds and start_step > 0:  # a new run that set-up overran: see after_setup
            raise GanaugError(
                f"this run already trained {spent:.0f} s of its {self.seconds:.0f} s --max-time budget; nothing is "
                "left to resume (its export is in the run folder)"
            )

    def spent(self) -> float:
        return time.perf_counter() - self.clock0

    def _mean(self, value: float) -> float:
        if not self.engine.distributed:
            return value
        total = self.engine.all_reduce_sum(torch.tensor([value], dtype=torch.float64))
        return float(total[0]) / self.engine.world_size

    def too_short(self, first_step_seconds: float) -> GanaugError | None:
        """An error when the budget holds only a few steps (judged by the first, which includes one-time set-up),
        saying how long that step took."""
        if first_step_seconds * 4 > self.seconds:
            return GanaugError(
                f"--max-time {self.seconds:g} s is too short: one training step took {first_step_seconds:.2f} s here, "
                f"and the run needs about {CALIBRATION_STEPS} steps to plan itself plus time to export; give at least "
                f"{math.ceil(first_step_seconds * CALIBRATION_STEPS)} s"
            )
        return None

    def check(self, cfg: FitConfig, step: int, spent: float) -> tuple[FitConfig, bool]:
        if self.engine.distributed:  # torchrun: every rank decides at the same steps from the same (mean) time
            if step % REPLAN_EVERY:
                return cfg, step >= cfg.steps
            spent = self._mean(spent)
        self.agreed = spent
        if self.first is None:  # step times are measured from here: the first step includes one-time set-up
            self.first = (step, spent)
        late = spent >= self.seconds * DEADLINE
        if not self.planned and ((step >= CALIBRATION_STEPS and step > self.first[0]) or late):
            first_step, first_spent = self.first
            self.planned = True
            new = self._plan(cfg, step, spent, (spent - first_spent) / max(1, step - first_step), late, first=True)
            return new, late or step >= new.steps
        if late:
            return cfg, True
        if self.planned and step % REPLAN_EVERY == 0:
            self.marks.append((step, spent))
            window = max(REPLAN_EVERY, round(cfg.steps * REPLAN_WINDOW))
            while len(self.marks) > 2 and self.marks[1][0] <= step - window:
                self.marks.popleft()
            first_step, first_spent = self.marks[0]
            if step - first_step >= window:
                new = self._plan(cfg, step, spent, (spent - first_spent) / (step - first_step), False)
                if abs(new.steps - cfg.steps) > REPLAN_SLACK * cfg.steps:
                    return new, step >= new.steps
        return cfg, step >= cfg.steps

    def _plan(self, cfg: FitConfig, step: int, spent: float, per_step: float, late: bool, first: bool = False
              ) -> FitConfig:  # fmt: skip
        """The config for a run that ends when ``SAFETY`` of the budget is spent, at ``per_step`` seconds a step. The
        evaluation interval is set by the first plan only: evaluations at steps that move with every re-plan would
        come at irregular intervals."""
        left = max(0.0, self.seconds * SAFETY - spent)
        steps = step if late else step + int(left / max(per_step, 1e-9))
        if self.cap is not None:
            steps = min(steps, self.cap)
        steps = max(step, steps)
        changes: dict = {"steps": steps}
        if "sample_every" not in self.user_set:
            changes["sample_every"] = max(1, steps // 10)
        if "checkpoint_every" not in self.user_set:
            changes["checkpoint_every"] = max(1, steps // 5)
        if first and "eval_every" not in self.user_set and cfg.eval_every > 0:  # auto: a tenth of the first plan
            changes["eval_every"] = max(1, steps // 10)
        if "ada_kimg" not in self.user_set:
            reference = FitConfig().steps  # ada_kimg's default suits the default number of steps
            changes["ada_kimg"] = self.base_ada_kimg * min(1.0, steps / reference)
        return cfg.replace(**changes)

    def after_setup(self, run_dir, what: str, hint: str = "") -> None:
        """Before the first step of a new run: set-up (``what``) that used half the budget is an error."""
        spent = self._mean(self.spent())
        if spent > self.seconds / 2:
            self._fail(
                GanaugError(
                    f"--max-time {self.seconds:g} s is too short: {what} took {spent:.0f} s of it before the first "
                    f"training step; give at least {math.ceil(spent * 4)} s{hint}"
                ),
                run_dir,
            )

    def start(self, step: int, took: float, run_dir, new_run: bool) -> None:
        """Over the first two steps of a new run: a budget that holds only a few steps is an error (judged by the
        second step; the first includes one-time set-up, unless it alone overruns the budget), and the new run
        folder is removed, so nothing half written is left."""
        if not new_run or step > 2:
            return
        took = self._mean(took)
        error = self.too_short(took) if step == 2 or took > self.seconds else None
        if error is not None:
            self._fail(error, run_dir)

    def _fail(self, error: GanaugError, run_dir) -> None:
        """Remove the new run's folder (nothing half written is left) and raise ``error`` in every process."""
        self.engine.barrier()
        if self.engine.is_main and run_dir is not None:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
        raise error


def budget_step(budget, trainer, cfg: FitConfig, took: float, spent: float, where, on_plan) -> tuple[FitConfig, bool]:
    """The budget's part of one step of a session loop: the too-short check, the plan (handed to the trainer and
    saved; ``on_plan(steps)`` updates the progress bar) and whether to stop. ``where`` is (run, run_dir, resolved,
    new_run)."""
    run, run_dir, resolved, new_run = where
    step = trainer.step
    budget.start(step, took, run_dir if run else None, new_run)
    planned, stop = budget.check(cfg, step, spent)
    growth = getattr(trainer, "growth", None)
    if growth is not None and growth.timed and budget.agreed is not None:  # a ProGAN schedule split by time
        growth.clock(budget.agreed, budget.seconds * SAFETY)
    if planned is not cfg:
        apply_plan(trainer, planned, run, resolved)
        on_plan(planned.steps)
    return planned, stop


def apply_plan(trainer, cfg: FitConfig, run, resolved: dict) -> None:
    """Hand a new plan to the trainer and save it with the run (a resume keeps it)."""
    trainer.cfg = cfg
    ada = getattr(trainer, "ada", None)
    if ada is not None:
        ada.kimg = cfg.ada_kimg
    resolved["fit"] = cfg.to_dict()
    if run is not None:
        run.write_config(resolved)
