"""One training session: engine, run folder, the step loop with progress, checkpoints, export."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import torch

from ..config import FitConfig
from ..data import LabelledData
from ..export import class_grid, write_export
from ..grid import save_grid
from .budget import Budget, budget_step, since
from .checkpoint import note_interrupt, save_checkpoint
from .ema import recalibrate_batchnorm
from .engine import create_engine
from .loop import CganTrainer
from .run import start_run
from .trainer import checked_step


def _progress(enabled: bool, total: int, start: int):
    """A rich progress bar with ETA and current losses on a terminal, plain lines in a log (a no-op when disabled)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ..progress import live_or_lines

    columns = (
        TextColumn("[bold]fit"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[losses]}"),
    )
    bar = live_or_lines("fit", columns, enabled, stderr=False, transient=False)
    task = bar.add_task("fit", total=total, completed=start, losses="")
    return bar, task


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def _teacher(cfg: FitConfig, labelled: LabelledData, device: torch.device, folder: Path):
    """The teacher classifier for the export (None with ``--teacher-epochs 0`` or a single class). It is trained
    before the GAN and kept in ``folder``: a resumed run reuses it when it was trained on the same data the same way.
    """
    if cfg.teacher_epochs <= 0 or labelled.config.num_classes < 2:
        return None
    from ..errors import GanaugError
    from ..teacher import Teacher, fingerprint

    try:
        saved = Teacher.load(folder)
    except GanaugError:  # cut short by a kill while it was saved: train it again
        saved = None
    same = {"data_fingerprint": fingerprint(labelled.images, labelled.labels), "epochs": cfg.teacher_epochs,
            "seed": cfg.seed}  # fmt: skip
    if saved is not None and all(saved.info.get(k) == v for k, v in same.items()):
        return saved
    teacher = Teacher.train(labelled.images, labelled.labels, class_names=labelled.config.class_names,
                            epochs=cfg.teacher_epochs, seed=cfg.seed, device=str(device))  # fmt: skip
    teacher.save(folder)
    return teacher


def train_session(
    cfg: FitConfig,
    labelled: LabelledData,
    arch_args: dict,
    resolved: dict,
    run_dir: Path | None,
    progress: bool,
    reference: LabelledData | None = None,
    started: float | None = None,
) -> tuple[Path, int]:
    from ..fitting import export_config

    engine = create_engine(cfg.device, cfg.precision, cfg.channels_last)
    trainer = run = None
    try:
        trainer = CganTrainer(cfg, labelled.images, labelled.labels, arch_args, engine)
        compile_notes = trainer.compile() if cfg.compile else []
        run_dir, run, spent_before = start_run(
            trainer, engine.is_main, cfg, run_dir, resolved, resolved["data_source"], resolved["notes"] + compile_notes
        )
        train_seconds, cpu_seconds = spent_before["train"], spent_before["cpu"]
        spent = spent_before["wall"] + since(started)
        budget = Budget(cfg, engine, trainer.step, spent, resolved.get("user_set", [])) if cfg.max_time else None
        new_run = trainer.step == 0
        teacher = _teacher(cfg, labelled, engine.device, run.path / "teacher") if run else None
        engine.barrier()
        if budget is not None and new_run:
            what = "reading the data" + (" and training the teacher classifier" if teacher else "")
            budget.after_setup(run_dir if run else None, what, " or --teacher-epochs 0" if teacher else "")
        if run:
            if resolved["skipped"]:
                print(f"note: skipped {len(resolved['skipped'])} unreadable file(s), e.g. {resolved['skipped'][0][0]}")

        def checkpoint() -> None:
            tensors, meta = trainer.state()
            meta.update(train_seconds=train_seconds, cpu_seconds=cpu_seconds, config=cfg.to_dict())
            if budget is not None:
                meta.update(wall_seconds=budget.spent())
            save_checkpoint(run_dir, trainer.step, tensors, meta, keep=cfg.keep_checkpoints)

        tracker = None
        if run and cfg.eval_every > 0:
            from ..metrics.tracking import QualityTracker

            tracker = QualityTracker(
                run.path, labelled, arch_args, engine.device, metric=cfg.eval_metric, reference=reference
            )
        bar, task = _progress(progress and engine.is_main, cfg.steps, trainer.step)
        last = time.perf_counter()
        images_since = 0
        stop = False
        with bar:
            while trainer.step < cfg.steps and not stop:
                t0, c0 = time.perf_counter(), time.process_time()
                stats = checked_step(trainer, run_dir if run else None)
                took = time.perf_counter() - t0
                train_seconds += took
                cpu_seconds += time.process_time() - c0
                images_since += cfg.batch_size
                step = trainer.step
                if budget is not None:
                    where = (run, run_dir, resolved, new_run)
                    cfg, stop = budget_step(budget, trainer, cfg, took, budget.spent(), where,
                                            lambda n: bar.update(task, total=n))  # fmt: skip
                final = step == cfg.steps or stop
                if not run:
                    continue
                if step % cfg.log_every == 0 or final:
                    now = time.perf_counter()
                    speed = images_since / max(now - last, 1e-9)
                    run.log({"step": step, **stats, "images_per_s": speed, "train_seconds": round(train_seconds, 2)})
                    last, images_since = now, 0
                    bar.update(task, completed=step, losses=f"D {stats['loss_d']:.3f} G {stats['loss_g']:.3f}")
                else:
                    bar.update(task, completed=step)
                if step % cfg.sample_every == 0 or final:
                    ncol = 8
                    images = class_grid(trainer.ema.shadow, arch_args["num_classes"], arch_args["latent_dim"], ncol)
                    save_grid(images, ncol, run.path / "samples" / f"step-{step:07d}.png",
                              row_labels=labelled.config.class_names)  # fmt: skip
                if tracker and (step % cfg.eval_every == 0 or final):
                    run.log(tracker.evaluate(step, trainer.ema.shadow))
                if step % cfg.checkpoint_every == 0 or final:
                    checkpoint()
        if run:
            net = copy.deepcopy(trainer.ema.shadow)
            recalibrate_batchnorm(net, arch_args["num_classes"], arch_args["latent_dim"], engine.device)
            net = tracker.best_net(net.eval()) if tracker else net.eval()
            last_log = ([r for r in run.read_log() if "loss_d" in r] or [{}])[-1]
            info = {
                "steps_done": trainer.step,
                "train_seconds": round(train_seconds, 1),
                "cpu_seconds": round(cpu_seconds, 1),
                "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                "cpu_cores": os.cpu_count(),
                "device_name": device_name(engine.device),
                "processes": engine.world_size,
                **({"max_time_s": budget.seconds} if budget is not None else {}),
                "precision": engine.precision,
                "final_augment_p": trainer.ada.p,
                "final_loss_d": last_log.get("loss_d"),
                "final_loss_g": last_log.get("loss_g"),
            }
            config = export_config(resolved, cfg, info)
            if teacher is not None:
                config["teacher"] = {"held_out": teacher.info["held_out"], "epochs": cfg.teacher_epochs}
            config = tracker.update_config(config) if tracker else config
            write_export(run.path / "export", net.cpu(), config, run.path.name, teacher=teacher)
            run.plot_losses()
        engine.barrier()
        return run_dir, trainer.step
    except KeyboardInterrupt:
        if engine.is_main:
            note_interrupt(run_dir, getattr(trainer, "step", 0))
        raise
    finally:
        if run:
            run.close()
        engine.close()
