"""The stage schedule of ``--arch progan`` and the growth state a trainer keeps.

Counting the real images shown to D (``(step - 1) * batch_size`` before a step), stage 0 (4x4) trains for ``P``
images (``--progan-stage-images``), then each later stage fades its new layers in over ``P`` images (alpha 0 -> 1)
and trains stable for ``P`` more; the last stage trains on until the run ends. With ``P = 0`` (auto) the run's images
(``steps * batch_size``) are split evenly over the ``2 * n_up + 1`` phases; ``prepare_cgan`` fixes that number in
the run's config, so a resume that adds steps lengthens the last stage and keeps the schedule. Under ``--max-time``
the auto schedule splits the *training time* instead: each of the ``2 * n_up + 1`` phases gets an equal share of the
wall-clock time from the first step to the planned end (steps at 4x4 cost a fraction of those at full size, so a split
by steps, planned from the first cheap steps, would spend most of a budget at the base size). The share gone is agreed
by all processes of a torchrun job, saved with the checkpoint (with where the training time began) and never goes
back a stage.

The stage and alpha are a function of the step for a fixed schedule, are written into the networks' buffers and
saved with every checkpoint together with the schedule; a resume whose schedule differs is an error.

Example:
    >>> s = StageSchedule(((4, 4), (8, 8)), stage_images=64, batch_size=8)
    >>> s.position(0), s.position(64), s.position(96), s.position(128), s.position(10_000)
    ((0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (1, 1.0))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import FitConfig
from ..errors import GanaugError


def auto_stage_images(steps: int, batch_size: int, n_up: int) -> int:
    """Images per phase when the run's ``steps`` are split evenly over its ``2 * n_up + 1`` phases (whole steps)."""
    return batch_size * max(1, steps // (2 * n_up + 1))


@dataclass(frozen=True)
class StageSchedule:
    """Sizes per stage (base first), images per fade or stable phase, and the batch size they are counted in.

    Example:
        >>> StageSchedule(((4, 4), (8, 8), (16, 16)), stage_images=80, batch_size=8).describe()
        '4x4 -> 8x8 -> 16x16, 80 images (10 steps of 8) per fade and per stable phase'
    """

    sizes: tuple[tuple[int, int], ...]
    stage_images: int
    batch_size: int

    @property
    def n_up(self) -> int:
        return len(self.sizes) - 1

    def position(self, images: int) -> tuple[int, float]:
        """``(stage, alpha)`` after ``images`` real images."""
        p = self.stage_images
        if images < p or self.n_up == 0:
            return 0, 1.0
        stage = (images - p) // (2 * p) + 1
        if stage > self.n_up:
            return self.n_up, 1.0
        into = images - (2 * stage - 1) * p
        return (stage, into / p) if into < p else (stage, 1.0)

    def position_in_time(self, fraction: float) -> tuple[int, float]:
        """``(stage, alpha)`` when ``fraction`` of the training time is gone and every phase gets an equal share."""
        phases = 2 * self.n_up + 1
        at = min(max(fraction, 0.0), 1.0) * phases
        k = min(int(at), phases - 1)
        if k == 0:
            return 0, 1.0
        return ((k + 1) // 2, at - k) if k % 2 else (k // 2, 1.0)

    def _steps(self, images: int) -> int | float:
        steps = images / self.batch_size
        return int(steps) if steps == int(steps) else round(steps, 2)

    def _first_step(self, images: int) -> int:
        return math.ceil(images / self.batch_size) + 1

    def rows(self, steps: int) -> list[dict]:
        """One row per stage for ``--dry-run``: its size, and the images and steps of its fade and stable phases."""
        p, out = self.stage_images, []
        for stage, (h, w) in enumerate(self.sizes):
            fade_from = 0 if stage == 0 else (2 * stage - 1) * p
            stable_from = 0 if stage == 0 else 2 * stage * p
            row: dict = {"stage": stage, "resolution": f"{h}x{w}", "from_step": self._first_step(fade_from)}
            if stage > 0:
                row.update(fade_images=p, fade_steps=self._steps(p))
            if stage < self.n_up:
                row.update(stable_images=p, stable_steps=self._steps(p))
            else:
                left = max(0, steps * self.batch_size - stable_from)
                row.update(stable_images=f"{left} (to the end of the run)", stable_steps=self._steps(left))
            out.append(row)
        return out

    def time_rows(self) -> list[dict]:
        """One row per stage for ``--dry-run`` under ``--max-time``: its size and when it starts, in training time."""
        phases = 2 * self.n_up + 1
        share = f"{100 / phases:.1f}% of the training time"
        out = []
        for stage, (h, w) in enumerate(self.sizes):
            row: dict = {"stage": stage, "resolution": f"{h}x{w}",
                         "from": f"{100 * max(0, 2 * stage - 1) / phases:.1f}% of the training time"}  # fmt: skip
            if stage > 0:
                row["fade"] = share
            row["stable"] = share if stage < self.n_up else f"{share} (to the end of the run)"
            out.append(row)
        return out

    def _sizes(self) -> str:
        return " -> ".join(f"{h}x{w}" for h, w in self.sizes)

    def describe_timed(self) -> str:
        return (
            f"{self._sizes()}, {2 * self.n_up + 1} phases (the base size, then a fade-in and a stable phase per new "
            "size), each an equal share of the training time under --max-time"
        )

    def describe(self) -> str:
        return (
            f"{self._sizes()}, {self.stage_images} images ({self._steps(self.stage_images)} steps of "
            f"{self.batch_size}) per fade and per stable phase"
        )

    def to_dict(self) -> dict:
        return {"sizes": [f"{h}x{w}" for h, w in self.sizes], "stage_images": self.stage_images,
                "batch_size": self.batch_size}  # fmt: skip


def stage_sizes(height: int, width: int) -> tuple[tuple[int, int], ...]:
    """The size of every stage, base first; an error naming the nearest valid sizes for a size ProGAN cannot reach."""
    from ..models.progan import progan_levels

    base_h, base_w, n_up = progan_levels(height, width)
    return tuple((base_h << k, base_w << k) for k in range(n_up + 1))


def make_schedule(cfg: FitConfig, height: int, width: int) -> StageSchedule:
    """The schedule of ``cfg`` (an auto ``progan_stage_images`` from ``cfg.steps``) at ``height x width``."""
    sizes = stage_sizes(height, width)
    images = cfg.progan_stage_images or auto_stage_images(cfg.steps, cfg.batch_size, len(sizes) - 1)
    return StageSchedule(sizes, images, cfg.batch_size)


def resolve_progan(cfg: FitConfig, height: int, width: int) -> tuple[FitConfig, dict]:
    """For a new run: an auto ``progan_stage_images`` fixed from the steps (left to follow the plan under
    ``--max-time``), and what ``fit_config.json`` and ``--dry-run`` show of the schedule."""
    schedule = make_schedule(cfg, height, width)
    if not cfg.max_time:
        cfg = cfg.replace(progan_stage_images=schedule.stage_images)
    if cfg.max_time and not cfg.progan_stage_images:
        return cfg, {"schedule": schedule.describe_timed(), "stages": schedule.time_rows()}
    return cfg, {"schedule": schedule.describe(), "stages": schedule.rows(cfg.steps)}


class Growth:
    """A trainer's growth state: the schedule, the current stage and alpha, set into the networks every step.

    Example:
        >>> growth = Growth(FitConfig(arch="progan", steps=50, batch_size=8, progan_stage_images=80), 16, 16)
        >>> growth.position_at(FitConfig(arch="progan", steps=50, batch_size=8, progan_stage_images=80), 13)
        (1, 0.2)
    """

    def __init__(self, cfg: FitConfig, height: int, width: int):
        self.height, self.width = height, width
        self.auto = cfg.progan_stage_images == 0
        self.timed = self.auto and bool(cfg.max_time)  # phases by training time, not by images
        self.schedule = make_schedule(cfg, height, width)
        self.stage, self.alpha = 0, 1.0  # stage 0 has no fade
        self.clock_from: float | None = None  # timed: the run's wall-clock seconds when its training time began
        self.fraction: float | None = None  # timed: the share of the training time gone, once the budget has said

    def clock(self, spent: float, planned_end: float) -> None:
        """Timed schedule: ``spent`` seconds of the run's wall-clock time are gone of the ``planned_end`` its budget
        plans to train to; the first call marks where the training time began."""
        if self.clock_from is None:
            self.clock_from = spent
        self.fraction = (spent - self.clock_from) / max(planned_end - self.clock_from, 1e-9)

    def position_at(self, cfg: FitConfig, step: int) -> tuple[int, float]:
        """``(stage, alpha)`` of step ``step`` (1-based) by the schedule of ``cfg`` (auto: its current steps; timed:
        the training time gone, the current position until the budget has said)."""
        if self.timed:
            return (self.stage, self.alpha) if self.fraction is None else self.schedule.position_in_time(self.fraction)
        if self.auto:
            self.schedule = make_schedule(cfg, self.height, self.width)
        return self.schedule.position((step - 1) * self.schedule.batch_size)

    def advance(self, cfg: FitConfig, step: int, *nets: nn.Module) -> None:
        """Move to step ``step``'s position (never back a stage) and write it into ``nets``."""
        self.stage, self.alpha = max((self.stage, self.alpha), self.position_at(cfg, step))
        for net in nets:
            net.set_growth(self.stage, self.alpha)

    def fade_reals(self, x: Tensor) -> Tensor:
        """Real images as the generator makes them at this stage: during a fade, a blend of the stage's size and the
        one before (upsampled), so D sees the same mixture in real and generated images. Full size is kept."""
        n_up, stage, alpha = self.schedule.n_up, self.stage, self.alpha
        if stage == 0 or alpha >= 1.0:
            return x
        factor = 2 ** (n_up - stage)
        small = F.avg_pool2d(x, factor) if factor > 1 else x
        blurred = F.interpolate(F.avg_pool2d(small, 2), scale_factor=2.0, mode="nearest")
        small = torch.lerp(blurred, small, alpha)
        return F.interpolate(small, scale_factor=float(factor), mode="nearest") if factor > 1 else small

    def stats(self) -> dict[str, float]:
        return {"stage": self.stage, "alpha": self.alpha}

    def title(self) -> str:
        """What a sample grid's title says: the stage, its size and the fade."""
        h, w = self.schedule.sizes[self.stage]
        fade = f", fading in (alpha {self.alpha:.2f})" if self.alpha < 1.0 else ""
        return f"stage {self.stage} of {self.schedule.n_up}: {h}x{w}{fade}"

    def summary(self) -> dict:
        """The export's record of where the growth ended."""
        h, w = self.schedule.sizes[self.stage]
        images = 0 if self.timed else self.schedule.stage_images
        described = self.schedule.describe_timed() if self.timed else self.schedule.describe()
        return {"progan_stage": self.stage, "progan_stages": self.schedule.n_up, "progan_size": f"{h}x{w}",
                "progan_alpha": self.alpha, "progan_stage_images": images, "progan_schedule": described}  # fmt: skip

    def state(self) -> dict:
        timed = {"timed": True, "clock_from": self.clock_from} if self.timed else {}
        return {**self.schedule.to_dict(), "auto": self.auto, "stage": self.stage, "alpha": self.alpha, **timed}

    def load(self, meta: dict | None, step: int) -> None:
        """Continue from a checkpoint's :meth:`state` at ``step``; a different schedule is an error."""
        if meta is None:
            raise GanaugError(f"the checkpoint at step {step} holds no ProGAN growth state; it was not written by a "
                              "--arch progan run, so this run cannot continue from it")  # fmt: skip
        mine = self.schedule.to_dict()
        keys = ("sizes", "batch_size") if self.auto else ("sizes", "batch_size", "stage_images")
        if any(meta.get(k) != mine[k] for k in keys):
            saved = StageSchedule(tuple(tuple(int(v) for v in s.split("x")) for s in meta["sizes"]),
                                  int(meta["stage_images"]), int(meta["batch_size"]))  # fmt: skip
            raise GanaugError(
                f"this ProGAN run's checkpoint at step {step} grows on the schedule {saved.describe()}, but the "
                f"resumed options give {self.schedule.describe()}; a run cannot change its stage schedule midway. "
                f"Resume with the options it was started with (--progan-stage-images {saved.stage_images}, "
                f"--batch-size {saved.batch_size}, --resolution {saved.sizes[-1][0]}x{saved.sizes[-1][1]}) or "
                "start a new run"
            )
        self.stage, self.alpha = int(meta["stage"]), float(meta["alpha"])
        if self.timed and meta.get("clock_from") is not None:
            self.clock_from = float(meta["clock_from"])
