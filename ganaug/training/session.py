"""One training session for every task: the engine, the run folder and its lock, resume, a ``--max-time`` budget,
the step loop with its progress bar, and when to log, draw samples, evaluate, checkpoint and export. What differs
between tasks is behind :class:`~ganaug.training.trainer.Task` and :class:`~ganaug.training.trainer.Trainer`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..progress import fit_bar, losses_text
from .budget import Budget, budget_step, since
from .checkpoint import note_interrupt, save_checkpoint
from .engine import create_engine
from .run import RunFolder, start_run
from .summary import device_name
from .trainer import Task, Trainer, checked_step

EXPORT_WORK_SHARE = 0.5  # of what a --max-time budget leaves after training, the share optional export work may use


def train_session(task: Task, run_dir: Path | None, progress: bool, started: float | None = None) -> tuple[Path, int]:
    """Train ``task`` in a new run folder, or continue ``run_dir`` from its last checkpoint, then export.

    ``started`` (a ``time.perf_counter()`` value) is when the fit began: a ``--max-time`` budget counts from there.
    Returns the run folder and the steps done.
    """
    return _Session(task, run_dir, progress, started)()


class _Session:
    """The state of one session; every process runs one, the main process (rank 0) owns the run folder."""

    def __init__(self, task: Task, run_dir: Path | None, progress: bool, started: float | None):
        self.task, self.cfg, self.resolved = task, task.cfg, task.resolved
        self.run_dir, self.progress, self.started = run_dir, progress, started
        self.engine = create_engine(self.cfg.device, self.cfg.precision, self.cfg.channels_last)
        self.trainer: Trainer | None = None
        self.run: RunFolder | None = None
        self.budget: Budget | None = None
        self.new_run = True
        self.train_seconds = self.cpu_seconds = 0.0

    def __call__(self) -> tuple[Path, int]:
        try:
            self._open()
            self._loop()
            if self.run:
                self._export(self.run)
            self.engine.barrier()  # every process ends here, after the export
            return self.run_dir, self.trainer.step
        except KeyboardInterrupt:
            if self.engine.is_main:
                note_interrupt(self.run_dir, getattr(self.trainer, "step", 0))
            raise
        finally:
            if self.run:
                self.run.close()
            self.engine.close()

    def _open(self) -> None:
        """The trainer, the run folder (new or resumed), the budget and the task's set-up."""
        cfg, engine, resolved = self.cfg, self.engine, self.resolved
        self.trainer = trainer = self.task.make_trainer(cfg, engine)
        notes = resolved["notes"] + (trainer.compile() if cfg.compile else [])
        self.run_dir, self.run, spent = start_run(
            trainer, engine.is_main, cfg, self.run_dir, resolved, self.task.data_name, notes
        )
        self.train_seconds, self.cpu_seconds = spent["train"], spent["cpu"]
        if trainer.step == 0 and self.task.initialize() and self.run:
            self.run.write_config(resolved)  # with where the weights came from, for a later resume
        if cfg.max_time:
            wall = spent["wall"] + since(self.started)
            self.budget = Budget(cfg, engine, trainer.step, wall, resolved.get("user_set", []))
        self.new_run = trainer.step == 0
        what, hint = self.task.setup(self.run)
        engine.barrier()
        if self.budget is not None and self.new_run:
            self.budget.after_setup(self.run_dir if self.run else None, what, hint)
        if self.run:
            skipped = resolved["skipped"]
            if skipped:
                print(f"note: skipped {len(skipped)} unreadable file(s), e.g. {skipped[0][0]}")
            self.task.start(self.run)

    def _loop(self) -> None:
        """Steps until ``--steps`` (or the budget's plan) is reached; on the main process, what each step calls for."""
        trainer, run = self.trainer, self.run
        bar, bar_task = fit_bar(self.progress and self.engine.is_main, self.cfg.steps, trainer.step)
        last, images_since = time.perf_counter(), 0
        stop = False
        with bar:
            while trainer.step < self.cfg.steps and not stop:
                t0, c0 = time.perf_counter(), time.process_time()
                stats = checked_step(trainer, self.run_dir if run else None)
                took = time.perf_counter() - t0
                self.train_seconds += took
                self.cpu_seconds += time.process_time() - c0
                images_since += self.cfg.batch_size
                step = trainer.step
                if self.budget is not None:
                    where = (run, self.run_dir, self.resolved, self.new_run)
                    self.cfg, stop = budget_step(self.budget, trainer, self.cfg, took, self.budget.spent(), where,
                                                 lambda n: bar.update(bar_task, total=n))  # fmt: skip
                final = step == self.cfg.steps or stop
                if not run:
                    continue
                if step % self.cfg.log_every == 0 or final:
                    now = time.perf_counter()
                    speed = images_since / max(now - last, 1e-9)
                    seconds = round(self.train_seconds, 2)
                    run.log({"step": step, **stats, "images_per_s": speed, "train_seconds": seconds})
                    last, images_since = now, 0
                    bar.update(bar_task, completed=step, losses=losses_text(stats, trainer.COLUMNS))
                else:
                    bar.update(bar_task, completed=step)
                self._periodic(run, step, final)

    def _periodic(self, run: RunFolder, step: int, final: bool) -> None:
        """After a step on the main process: a sample grid, an evaluation and a checkpoint, each at its interval."""
        cfg = self.cfg
        if step % cfg.sample_every == 0 or final:
            self.task.save_samples(run.path / "samples" / f"step-{step:07d}.png")
        if cfg.eval_every > 0 and (step % cfg.eval_every == 0 or final):
            record = self.task.evaluate(step)
            if record is not None:
                run.log(record)
        if step % cfg.checkpoint_every == 0 or final:
            tensors, meta = self.trainer.state()
            meta.update(train_seconds=self.train_seconds, cpu_seconds=self.cpu_seconds, config=cfg.to_dict())
            if self.budget is not None:
                meta.update(wall_seconds=self.budget.spent())
            save_checkpoint(self.run_dir, step, tensors, meta, keep=cfg.keep_checkpoints)

    def _export(self, run: RunFolder) -> None:
        """The session's training summary handed to the task's export; then the loss curve."""
        trainer, engine = self.trainer, self.engine
        last = ([r for r in run.read_log() if "loss_d" in r] or [{}])[-1]
        info = {
            "steps_done": trainer.step,
            "train_seconds": round(self.train_seconds, 1),
            "cpu_seconds": round(self.cpu_seconds, 1),
            "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpu_cores": os.cpu_count(),
            "device_name": device_name(engine.device),
            "processes": engine.world_size,
            **({"max_time_s": self.budget.seconds} if self.budget is not None else {}),
            "precision": engine.precision,
            **self.task.summary(),
            **{f"final_{key}": last.get(key) for key in trainer.FINAL},
        }
        if self.budget is not None:  # what is left of the budget: half for optional export work, half for writing
            left = max(0.0, self.budget.seconds - self.budget.spent())
            self.task.export_deadline = time.perf_counter() + left * EXPORT_WORK_SHARE
        self.task.export(run, self.cfg, info)
        run.plot_losses()
