"""``ganaug fit --task cyclegan DATA_A DATA_B``: resolve the options, read both domains, train with checkpoints and a
progress bar, measure cycle reconstruction and the content guard, and export both directions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from ..builders import TRANSLATORS
from ..config import FitConfig
from ..data import LabelledData
from ..errors import GanaugError
from ..grid import save_grid
from ..presets import get_preset
from .budget import Budget, budget_step, describe_plan, parse_duration, since
from .checkpoint import note_interrupt, save_checkpoint
from .cyclegan import CYCLEGAN_LOSSES, GRID_IMAGES, CycleTrainer
from .engine import create_engine
from .run import RunFolder, start_run
from .session import _progress, device_name
from .trainer import checked_step

# FitConfig fields of the conditional task that mean nothing to a CycleGAN: setting one is an error, not a no-op
# (the reader options of the conditional task are not applied to CycleGAN domains yet, so they are refused too)
NOT_FOR_CYCLEGAN = (
    "latent_dim", "upsample", "lr_decay", "d_steps", "r1_gamma", "gp_weight", "clip_value", "augment", "augment_p",
    "ada_target", "ada_kimg", "ema_decay", "balanced", "eval_every", "eval_metric", "eval_split", "class_loss",
    "class_loss_weight", "cond_ramp", "info_codes", "info_weight", "labels", "label_pattern", "class_meanings",
    "window", "sample_rate", "duration", "n_fft", "hop_length", "n_mels", "f_min", "f_max",
)  # fmt: skip
TRAINING_SUMMARY = (
    "preset", "loss", "steps", "batch_size", "optimizer", "lr_g", "lr_d", "beta1", "seed", "cyclegan_lambda",
    "cyclegan_identity", "cyclegan_pool", "cyclegan_decay_from", "cyclegan_jitter",
)  # fmt: skip
PAIR_HELP = (
    "--task cyclegan needs two DATA, one per domain: DATA_A DATA_B (each a folder of images, with or without "
    "class subfolders, a .npz or hf:NAME)"
)
METRIC_IMAGES = 256


def resolve_cyclegan_config(cfg: FitConfig, user_set: set[str]) -> FitConfig:
    """The CycleGAN canon under the user's options: resnet, lsgan, Adam beta1 0.5, 64 channels, batch 1."""
    preset = get_preset(cfg.preset)
    unused = sorted(user_set & set(NOT_FOR_CYCLEGAN))
    if unused:
        flags = ", ".join("--" + k.replace("_", "-") for k in unused)
        raise GanaugError(f"these options do not apply to --task cyclegan: {flags} (see the --cyclegan-* options)")
    arch = cfg.arch if "arch" in user_set else "resnet"
    entry = TRANSLATORS.get(arch)
    loss = cfg.loss if cfg.loss != "auto" else entry.defaults["loss"]
    if loss not in CYCLEGAN_LOSSES:
        raise GanaugError(f"--loss {loss} is not accepted for cyclegan; choose {', '.join(CYCLEGAN_LOSSES)}")
    jitter = cfg.cyclegan_jitter
    if jitter == "auto":
        jitter = "on" if preset.cyclegan_jitter else "off"
    checks = {
        "steps": cfg.steps >= 1,
        "batch_size": cfg.batch_size >= 1,
        "cyclegan_lambda": cfg.cyclegan_lambda >= 0,
        "cyclegan_identity": cfg.cyclegan_identity >= 0,
        "cyclegan_pool": cfg.cyclegan_pool >= 0,
        "cyclegan_decay_from": 0 <= cfg.cyclegan_decay_from <= 1,
        "cyclegan_blocks": cfg.cyclegan_blocks >= 0,
        "cyclegan_d_layers": 0 <= cfg.cyclegan_d_layers <= 6,
        "cyclegan_guard_steps": cfg.cyclegan_guard_steps >= 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise GanaugError(f"{name}={getattr(cfg, name)} is not accepted (see `ganaug fit --help`)")
    return cfg.replace(
        arch=arch,
        loss=loss,
        beta1=cfg.beta1 if cfg.beta1 >= 0 else entry.defaults["beta1"],
        ch=cfg.ch or entry.defaults["ch"],
        batch_size=cfg.batch_size if "batch_size" in user_set else 1,
        cyclegan_jitter=jitter,
        augment="none",
    )


def domain_pair(data: Any) -> tuple[str, str]:
    if data is None or isinstance(data, (str, os.PathLike)):
        raise GanaugError(f"{PAIR_HELP}; got {'none' if data is None else 'one: ' + os.fspath(data)}")
    items = list(data)
    if len(items) != 2:
        raise GanaugError(f"{PAIR_HELP}; got {len(items)}: {' '.join(map(str, items))}")
    return os.fspath(items[0]), os.fspath(items[1])


def fit_cyclegan(
    data: Any = None,
    *,
    resume: str | Path | None = None,
    dry_run: bool = False,
    progress: bool = True,
    command: str | None = None,
    started: float | None = None,
    **options: Any,
) -> Any:
    """Train a CycleGAN between ``data = (DATA_A, DATA_B)``; what ``ganaug.fit(..., task="cyclegan")`` runs.

    Returns the :class:`ganaug.fitting.Run` (its ``data`` is domain A's), or with ``dry_run`` the resolved config.
    ``started`` (a ``time.perf_counter()`` value) is when the call began: a ``--max-time`` budget counts from there.
    """
    from ..data.unlabelled import read_domain
    from ..fitting import Run, load_resumed
    from ..models.cyclegan import translator_args

    saved = run_dir = None
    if resume is not None:
        run_dir, saved, cfg = load_resumed(resume, options)
        data = data or saved["data_source"]
    else:
        cfg = resolve_cyclegan_config(FitConfig.from_dict(options), set(options))
    if cfg.max_time:
        parse_duration(cfg.max_time)
    source_a, source_b = domain_pair(data)
    opts = {"channels": cfg.channels, "split": cfg.split, "skip_bad": cfg.skip_bad}
    dom_a = read_domain(source_a, "A", resolution=cfg.resolution, **opts)
    h, w = dom_a.config.height, dom_a.config.width
    dom_b = read_domain(source_b, "B", resolution=f"{h}x{w}", **opts)
    cfg = cfg.replace(resolution=f"{h}x{w}")
    ca, cb = dom_a.config.channels, dom_b.config.channels
    if saved is not None:
        arch_args = saved["arch_args"]
    else:
        arch_args = translator_args(cfg.arch, ca, cb, h, w, cfg.ch, cfg.cyclegan_blocks, cfg.cyclegan_d_layers)
    notes = [f"domain A: {n}" for n in dom_a.notes] + [f"domain B: {n}" for n in dom_b.notes]
    if ca != cb and cfg.cyclegan_identity > 0:
        notes.append(f"identity loss off: domain A has {ca} channel(s) and domain B {cb}")
    user_set = sorted(saved.get("user_set", []) if saved is not None else options)
    resolved = {
        "fit": cfg.to_dict(),
        **({"plan": describe_plan(cfg, set(user_set))} if cfg.max_time else {}),
        "user_set": user_set,
        "data": dom_a.config.to_dict(),
        "data_b": dom_b.config.to_dict(),
        "data_source": [source_a, source_b],
        "arch_args": arch_args,
        "command": command or "ganaug.fit(...)",
        "notes": notes,
        "skipped": [list(s) for s in dom_a.skipped + dom_b.skipped],
    }
    if dry_run:
        return resolved
    path, steps_done = train_cyclegan(cfg, dom_a, dom_b, resolved, run_dir, progress, started)
    return Run(path=path, config=cfg, data=dom_a.config, steps_done=steps_done)


def train_cyclegan(
    cfg: FitConfig,
    dom_a: LabelledData,
    dom_b: LabelledData,
    resolved: dict,
    run_dir: Path | None,
    progress: bool,
    started: float | None = None,
) -> tuple[Path, int]:
    """The session: engine, run folder, the step loop with progress, grids, checkpoints; then metrics and export."""
    engine = create_engine(cfg.device, cfg.precision, cfg.channels_last)
    trainer = run = None
    try:
        trainer = CycleTrainer(
            cfg, dom_a.images, dom_b.images, resolved["arch_args"], engine, cfg.cyclegan_jitter == "on"
        )
        compile_notes = trainer.compile() if cfg.compile else []
        name_source = "-".join(Path(s.removeprefix("hf:").rstrip("/")).name for s in resolved["data_source"])
        run_dir, run, spent_before = start_run(
            trainer, engine.is_main, cfg, run_dir, resolved, name_source, resolved["notes"] + compile_notes
        )

        train_seconds, cpu_seconds = spent_before["train"], spent_before["cpu"]
        spent = spent_before["wall"] + since(started)
        budget = Budget(cfg, engine, trainer.step, spent, resolved.get("user_set", [])) if cfg.max_time else None
        new_run = trainer.step == 0
        if budget is not None and new_run:
            budget.after_setup(run_dir if run else None, "reading the data")
        bar, task = _progress(progress and engine.is_main, cfg.steps, trainer.step)
        last, images_since = time.perf_counter(), 0
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
                    losses = f"D {stats['loss_d']:.3f} G {stats['loss_g']:.3f} cycle {stats['cycle_l1']:.3f}"
                    bar.update(task, completed=step, losses=losses)
                else:
                    bar.update(task, completed=step)
                if step % cfg.sample_every == 0 or final:
                    grid = _grid(trainer)
                    save_grid(grid, len(grid) // 6, run.path / "samples" / f"step-{step:07d}.png")
                if step % cfg.checkpoint_every == 0 or final:
                    tensors, meta = trainer.state()
                    meta.update(train_seconds=train_seconds, cpu_seconds=cpu_seconds, config=cfg.to_dict())
                    if budget is not None:
                        meta.update(wall_seconds=budget.spent())
                    save_checkpoint(run_dir, step, tensors, meta, keep=cfg.keep_checkpoints)
        if run:
            _finish(trainer, run, cfg, resolved, dom_a, dom_b, train_seconds)
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


def _grid(trainer: CycleTrainer) -> torch.Tensor:
    from ..translator_export import cycle_grid

    return cycle_grid(trainer.translate, trainer.fixed["a"], trainer.fixed["b"])


def _spread(n: int, k: int = METRIC_IMAGES) -> torch.Tensor:
    """Up to ``k`` indices spread evenly over ``n`` (deterministic)."""
    return torch.linspace(0, n - 1, min(n, k)).round().long().unique()


def measure(
    trainer: CycleTrainer, dom_a: LabelledData, dom_b: LabelledData, guard_steps: int, seed: int
) -> tuple[dict[str, float], torch.nn.Module | None, dict | None]:
    """Cycle-reconstruction L1 ([0, 1] scale) both ways; the guard classifier and its rejection rates, if labelled."""
    from .guard import rejection_rate, train_guard

    metrics: dict[str, float] = {}
    translated = {}
    for key, dom, there, back in (("a", dom_a, "a2b", "b2a"), ("b", dom_b, "b2a", "a2b")):
        idx = _spread(len(dom))
        x = dom.images[idx]
        y = trainer.translate(x, there)
        rec = trainer.translate(y, back)
        metrics[f"cycle_l1_{key}"] = round(float((rec - x).abs().mean() / 2), 5)
        translated[key] = (idx, x, y)
    names = {k: d.config.class_names for k, d in (("a", dom_a), ("b", dom_b)) if len(d.config.class_names) >= 2}
    if not names or guard_steps <= 0:
        return metrics, None, None
    keys = ["a", "b"] if len(names) == 2 and names["a"] == names["b"] else [sorted(names)[0]]
    doms = {"a": dom_a, "b": dom_b}
    guard, config = train_guard(
        [doms[k].images for k in keys], [doms[k].labels for k in keys], names[keys[0]], guard_steps, seed, "cpu"
    )
    config["trained_on"] = keys
    for key in keys:
        _, x, y = translated[key]
        metrics[f"guard_rejection_{'a2b' if key == 'a' else 'b2a'}"] = round(rejection_rate(guard, config, x, y), 4)
    metrics["guard_train_accuracy"] = config["train_accuracy"]
    return metrics, guard, config


def _finish(
    trainer: CycleTrainer,
    run: RunFolder,
    cfg: FitConfig,
    resolved: dict,
    dom_a: LabelledData,
    dom_b: LabelledData,
    train_seconds: float,
) -> None:
    from .. import __version__
    from ..translator_export import write_translator_export

    metrics, guard, guard_config = measure(trainer, dom_a, dom_b, cfg.cyclegan_guard_steps, cfg.seed)
    training = {k: v for k, v in cfg.to_dict().items() if k in TRAINING_SUMMARY}
    training.update(
        steps_done=trainer.step,
        train_seconds=round(train_seconds, 1),
        device_name=device_name(trainer.engine.device),
        processes=trainer.engine.world_size,
        precision=trainer.engine.precision,
        identity_loss=trainer.identity,
        command=resolved["command"],
    )
    last = (run.read_log() or [{}])[-1]
    training.update({f"final_{k}": last.get(k) for k in ("loss_d", "loss_g", "cycle_l1")})
    config = {
        "ganaug_version": __version__,
        "task": "cyclegan",
        "arch": cfg.arch,
        "arch_args": resolved["arch_args"],
        "data": resolved["data"],
        "data_b": resolved["data_b"],
        "weights": {"a2b": "a2b.", "b2a": "b2a.", **({"guard": "guard."} if guard else {})},
        "guard": guard_config,
        "training": training,
        "metrics": metrics,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    nets = {"a2b": trainer.nets["G_ab"], "b2a": trainer.nets["G_ba"], **({"guard": guard} if guard else {})}
    grid = _grid(trainer)
    write_translator_export(
        run.path / "export", nets, config, grid, run.path.name, ncol=min(GRID_IMAGES, len(grid) // 6)
    )
    run.plot_losses()
