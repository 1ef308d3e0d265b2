"""``ganaug.fit``: resolve the options, read the data of the task (a class-conditional GAN or a CycleGAN) and hand it
to the training session, which trains with checkpoints and exports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .builders import ARCHS, LOSSES
from .config import FitConfig
from .errors import GanaugError
from .presets import get_preset
from .training.run import Run, load_resumed

__all__ = ["Run", "fit", "load_resumed", "resolve_config"]


def resolve_config(cfg: FitConfig, user_set: set[str]) -> FitConfig:
    """Apply the preset under the user's options, then the architecture's and loss's own defaults."""
    from .training.budget import cpu_groups

    preset = get_preset(cfg.preset)
    changes = {k: v for k, v in preset.fit.items() if k not in user_set}
    cfg = cfg.replace(**changes)
    for group in cpu_groups(cfg, user_set):  # a CPU run that a time budget ends: the preset's cheaper defaults
        cfg = cfg.replace(**group)
    arch = ARCHS.get(cfg.arch)
    loss = cfg.loss if cfg.loss != "auto" else arch.defaults.get("loss", "hinge")
    LOSSES.get(loss)
    beta1 = cfg.beta1 if cfg.beta1 >= 0 else arch.defaults.get("beta1", 0.5)
    ch = cfg.ch or arch.defaults.get("ch", 64)
    augment = cfg.augment if cfg.augment != "auto" else get_preset("natural").fit["augment"]
    # an architecture's own optimiser defaults (progan: the paper's), under the user's and the preset's options
    own = {k: arch.defaults[k] for k in ("lr_g", "lr_d", "beta2") if k in arch.defaults and k not in user_set}
    cfg = cfg.replace(**{k: v for k, v in own.items() if k not in preset.fit})
    arch_d_steps = arch.defaults.get("d_steps") if loss == arch.defaults.get("loss") else None
    d_steps = cfg.d_steps or arch_d_steps or LOSSES.get(loss).cls.d_steps
    for name in ("steps", "batch_size", "latent_dim"):
        if getattr(cfg, name) < 1:
            raise GanaugError(f"{name}={getattr(cfg, name)} is not accepted; it must be >= 1")
    from .data.subset import check_fraction
    from .training.budget import budget_option

    cfg = cfg.replace(max_time=budget_option(cfg.max_time))  # auto is settled once the data's size is known
    check_fraction("train_fraction", cfg.train_fraction)
    check_fraction("minority_fraction", cfg.minority_fraction)
    if isinstance(cfg.holdout, bool) or not isinstance(cfg.holdout, (int, float)) or not 0 <= cfg.holdout < 1:
        raise GanaugError(
            f"holdout={cfg.holdout!r} is not accepted; give a fraction in [0, 1), e.g. 0.2 (0 holds nothing out)"
        )
    if not 0 <= cfg.ema_decay < 1:
        raise GanaugError(f"ema_decay={cfg.ema_decay} is not accepted; it must be in [0, 1)")
    if cfg.info_codes:
        from .models.info import format_codes, parse_codes
        from .training.info_codes import check_info_weight

        check_info_weight(cfg.info_weight)
        cfg = cfg.replace(info_codes=format_codes(parse_codes(cfg.info_codes)))
    _check_progan(cfg)
    if cfg.eval_every < -1:
        raise GanaugError(f"eval_every={cfg.eval_every} is not accepted; give N >= 1 steps, 0 (off) or -1 (auto)")
    if cfg.augment_p > 1:
        raise GanaugError(f"augment_p={cfg.augment_p} is not accepted; use a value in [0, 1], or -1 for adaptive")
    drift = cfg.progan_drift
    if drift == -1:  # auto: ProGAN's drift penalty where the paper uses it, with wgan-gp
        from .training.losses import DRIFT_EPSILON

        drift = DRIFT_EPSILON if cfg.arch == "progan" and loss == "wgan-gp" else 0.0
    return cfg.replace(loss=loss, beta1=beta1, ch=ch, augment=augment, d_steps=d_steps, progan_drift=drift)


def _check_progan(cfg: FitConfig) -> None:
    """Options that only ``--arch progan`` takes, and options it does not take."""
    if cfg.progan_stage_images < 0:
        raise GanaugError(f"progan_stage_images={cfg.progan_stage_images} is not accepted; give images >= 1, or 0")
    if not (cfg.progan_drift >= 0 or cfg.progan_drift == -1):
        raise GanaugError(f"progan_drift={cfg.progan_drift} is not accepted; give a weight >= 0, or -1 for auto")
    if cfg.arch != "progan":
        for name in ("progan_stage_images", "progan_drift"):
            if getattr(cfg, name) > 0:
                raise GanaugError(f"--{name.replace('_', '-')} applies to --arch progan only")
        return
    if cfg.info_codes:
        raise GanaugError("--info-codes applies to the biggan, dcgan and mlp architectures, not progan")


def fit(
    data: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    dry_run: bool = False,
    progress: bool = True,
    command: str | None = None,
    **options: Any,
) -> Run | dict:
    """Train a class-conditional GAN on labelled ``data`` and export its EMA generator; the same as `ganaug fit`.

    With ``task="cyclegan"``, ``data`` is a pair ``(DATA_A, DATA_B)`` and an A<->B translator is trained instead.

    ``options`` are :class:`FitConfig` fields. Returns the :class:`Run` (or, with ``dry_run``, the resolved
    configuration as a dict without training). Under torchrun only rank 0 writes the run folder; the other ranks'
    ``Run.path`` is ``.``.
    """
    from .training.budget import budget_option
    from .training.cgan_task import prepare_cgan
    from .training.cyclegan_task import prepare_cyclegan, resolve_cyclegan_config

    started = time.perf_counter()  # a --max-time budget counts reading the data too
    saved = run_dir = None
    if resume is not None:
        run_dir, saved, cfg = load_resumed(resume, options)
        data = data or saved["data_source"]
    elif options.get("task") == "cyclegan":
        cfg = resolve_cyclegan_config(FitConfig.from_dict(options), set(options))
    elif data is None:
        raise GanaugError("DATA is required (a class folder, a .npz file, or hf:NAME), or --resume RUN")
    else:
        cfg = resolve_config(FitConfig.from_dict(options), set(options))
    if cfg.task not in ("cgan", "cyclegan"):
        raise GanaugError(f"task {cfg.task!r} is not accepted here; choose cgan or cyclegan")
    budget_option(cfg.max_time)  # a resumed run's saved budget is checked too
    user_set = sorted(saved.get("user_set", []) if saved is not None else options)
    prepare = prepare_cyclegan if cfg.task == "cyclegan" else prepare_cgan
    task = prepare(data, cfg, saved, user_set, command)
    if dry_run:
        from .training.engine import planned_engine

        return {**task.resolved, "will_run_on": planned_engine(task.cfg.device, task.cfg.precision)}
    from .training.session import train_session

    path, steps_done = train_session(task, run_dir, progress, started)
    return Run(path=path, config=task.cfg, data=task.data, steps_done=steps_done)
