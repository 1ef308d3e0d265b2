"""``--max-time``: a training run planned to a wall-clock budget.

The run measures its step time over the first ``CALIBRATION_STEPS`` steps, then fixes its number of steps to what
the rest of the budget holds (at most ``--steps`` when that is given too: whichever ends first). The plan is saved
with the run, so a resumed run keeps it and counts the time already spent; what depends on the run's length
follows the planned steps: the learning-rate schedule, the sample-grid and checkpoint intervals (unless set) and
the adaptive augmentation's speed (unless set). All processes of a torchrun job plan from their mean step time
and stop at the same step.

Example:
    >>> parse_duration("1h30m"), parse_duration("90s"), parse_duration("10m")
    (5400.0, 90.0, 600.0)
"""

from __future__ import annotations

import math
import re

import torch

from ..config import FitConfig
from ..errors import GanaugError

CALIBRATION_STEPS = 20
SAFETY = 0.97  # plan for a little less than the budget: the export follows the last step
HARD_STOP = 1.1  # a run that falls this far behind its plan (a machine slowed down) stops anyway
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


def describe_plan(cfg: FitConfig, user_set: set[str]) -> dict | None:
    """What ``--dry-run`` shows of a budgeted run (None without ``--max-time``)."""
    if not cfg.max_time:
        return None
    seconds = parse_duration(cfg.max_time)
    return {
        "max_time_s": seconds,
        "calibration_steps": CALIBRATION_STEPS,
        "steps": f"planned after {CALIBRATION_STEPS} steps from their measured time to fill {seconds:g} s"
        + (f", at most {cfg.steps} (--steps: whichever ends first)" if "steps" in user_set else ""),
        "scaled with the planned steps": [
            name
            for name in ("lr schedule", "sample_every", "checkpoint_every", "ada_kimg")
            if name == "lr schedule" or name not in user_set
        ],
    }


class Budget:
    """Plans and stops one run; ``check(step, seconds)`` after every step returns the config to continue with (a
    new one once, when the plan is made) and whether to stop now."""

    def __init__(self, cfg: FitConfig, engine, start_step: int, spent: float, user_set: set[str]):
        self.seconds = parse_duration(cfg.max_time)
        self.engine, self.user_set = engine, set(user_set)
        self.start_step, self.start_spent = start_step, spent
        self.planned = start_step >= CALIBRATION_STEPS  # a resumed run keeps its saved plan
        if spent >= self.seconds:
            raise GanaugError(
                f"this run already trained {spent:.0f} s of its {self.seconds:.0f} s --max-time budget; nothing is "
                "left to resume (its export is in the run folder)"
            )

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
        late = spent > self.seconds * HARD_STOP
        if self.engine.distributed:  # every rank must stop at the same step: agree every 10 steps
            late = step % 10 == 0 and self._mean(float(late)) > 0
        if not self.planned and (step >= CALIBRATION_STEPS or late):
            per_step = self._mean((spent - self.start_spent) / max(1, step - self.start_step))
            left = max(0.0, self.seconds * SAFETY - spent)
            steps = step if late else step + int(left / max(per_step, 1e-9))
            if "steps" in self.user_set:
                steps = min(steps, cfg.steps)
            steps = max(step, steps)
            changes: dict = {"steps": steps}
            if "sample_every" not in self.user_set:
                changes["sample_every"] = max(1, steps // 10)
            if "checkpoint_every" not in self.user_set:
                changes["checkpoint_every"] = max(1, steps // 5)
            if "ada_kimg" not in self.user_set:
                reference = FitConfig().steps  # ada_kimg's default suits the default number of steps
                changes["ada_kimg"] = cfg.ada_kimg * min(1.0, steps / reference)
            self.planned = True
            return cfg.replace(**changes), step >= steps
        return cfg, late or step >= cfg.steps

    def start(self, step: int, took: float, run_dir, new_run: bool) -> None:
        """Over the first two steps of a new run: a budget that holds only a few steps is an error (judged by the
        second step; the first includes one-time set-up, unless it alone overruns the budget), and the new run
        folder is removed, so nothing half written is left."""
        if not new_run or step > 2:
            return
        took = self._mean(took)
        error = self.too_short(took) if step == 2 or took > self.seconds else None
        if error is not None:
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
