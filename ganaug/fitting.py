"""``ganaug.fit``: read data, resolve the configuration, train with checkpoints, export the EMA generator."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .builders import ARCHS, LOSSES
from .config import DataConfig, FitConfig, parse_resolution
from .errors import GanaugError
from .fileio import read_json
from .presets import get_preset

RESUMABLE_CHANGES = {"steps", "sample_every", "checkpoint_every", "log_every", "keep_checkpoints", "device"}


@dataclass
class Run:
    """A finished (or resumed-and-finished) run folder.

    Example:
        >>> run = ganaug.fit("data/digits", steps=200)  # doctest: +SKIP
        >>> run.load_generator().sample("3", n=4)  # doctest: +SKIP
    """

    path: Path
    config: FitConfig
    data: DataConfig
    steps_done: int

    @property
    def export(self) -> Path:
        return self.path / "export"

    def load_generator(self, device: str = "cpu"):
        from .model_sources import load_generator

        return load_generator(self.export, device=device)


def resolve_config(cfg: FitConfig, user_set: set[str]) -> FitConfig:
    """Apply the preset under the user's options, then the architecture's and loss's own defaults."""
    preset = get_preset(cfg.preset)
    changes = {k: v for k, v in preset.fit.items() if k not in user_set}
    cfg = cfg.replace(**changes)
    arch = ARCHS.get(cfg.arch)
    loss = cfg.loss if cfg.loss != "auto" else arch.defaults.get("loss", "hinge")
    LOSSES.get(loss)
    beta1 = cfg.beta1 if cfg.beta1 >= 0 else arch.defaults.get("beta1", 0.5)
    ch = cfg.ch or arch.defaults.get("ch", 64)
    augment = cfg.augment if cfg.augment != "auto" else get_preset("natural").fit["augment"]
    d_steps = cfg.d_steps or LOSSES.get(loss).cls.d_steps
    for name in ("steps", "batch_size", "latent_dim"):
        if getattr(cfg, name) < 1:
            raise GanaugError(f"{name}={getattr(cfg, name)} is not accepted; it must be >= 1")
    from .data.subset import check_fraction
    from .training.budget import parse_duration

    if cfg.max_time:
        parse_duration(cfg.max_time)
    check_fraction("train_fraction", cfg.train_fraction)
    check_fraction("minority_fraction", cfg.minority_fraction)
    if not 0 <= cfg.ema_decay < 1:
        raise GanaugError(f"ema_decay={cfg.ema_decay} is not accepted; it must be in [0, 1)")
    if cfg.info_codes:
        from .models.info import format_codes, parse_codes
        from .training.info_codes import check_info_weight

        check_info_weight(cfg.info_weight)
        cfg = cfg.replace(info_codes=format_codes(parse_codes(cfg.info_codes)))
    if cfg.augment_p > 1:
        raise GanaugError(f"augment_p={cfg.augment_p} is not accepted; use a value in [0, 1], or -1 for adaptive")
    return cfg.replace(loss=loss, beta1=beta1, ch=ch, augment=augment, d_steps=d_steps)


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
    configuration as a dict without training).
    """
    from .data import read_data

    started = time.perf_counter()  # a --max-time budget counts reading the data too
    if options.get("task") == "cyclegan" or (resume is not None and _saved_task(resume) == "cyclegan"):
        from .training.cyclegan_session import fit_cyclegan

        return fit_cyclegan(
            data, resume=resume, dry_run=dry_run, progress=progress, command=command, started=started, **options
        )
    saved = None
    if resume is not None:
        run_dir, saved, cfg = load_resumed(resume, options)
        data = data or saved["data_source"]
    else:
        if data is None:
            raise GanaugError("DATA is required (a class folder, a .npz file, or hf:NAME), or --resume RUN")
        cfg = resolve_config(FitConfig.from_dict(options), set(options))
    if cfg.task != "cgan":
        raise GanaugError(f"task {cfg.task!r} is not accepted here; choose cgan or cyclegan")
    from .data.options import after_reading, reader_options
    from .training.budget import describe_plan

    opts = reader_options(cfg)
    labelled = read_data(
        data, resolution=cfg.resolution, channels=cfg.channels, split=cfg.split, skip_bad=cfg.skip_bad, **opts
    )
    _apply_regime(labelled, cfg)
    card = after_reading(labelled, cfg)
    dc = labelled.config
    h, w = parse_resolution(f"{dc.height}x{dc.width}", (dc.height, dc.width))
    cfg = cfg.replace(resolution=f"{h}x{w}", channels=dc.channels)
    arch_args = {
        "latent_dim": cfg.latent_dim,
        "num_classes": dc.num_classes,
        "channels": dc.channels,
        "height": dc.height,
        "width": dc.width,
        "ch": cfg.ch,
    }
    if cfg.arch == "dcgan":
        arch_args["upsample"] = cfg.upsample
    if cfg.info_codes:
        arch_args["info_codes"] = cfg.info_codes
    if saved is not None:
        arch_args = saved["arch_args"]
    user_set = sorted(saved.get("user_set", []) if saved is not None else options)
    resolved = {
        "fit": cfg.to_dict(),
        **({"plan": describe_plan(cfg, set(user_set))} if cfg.max_time else {}),
        "user_set": user_set,
        "data": dc.to_dict(),
        "data_source": str(data),
        "arch_args": arch_args,
        "command": command or "ganaug.fit(...)",
        "notes": labelled.notes,
        "skipped": [list(s) for s in labelled.skipped],
        "preset": get_preset(cfg.preset).to_dict(),
        "card": card,
    }
    reference = _eval_reference(data, cfg, opts, labelled) if cfg.eval_split else None
    if dry_run:
        from .training.engine import planned_engine

        return {**resolved, "will_run_on": planned_engine(cfg.device, cfg.precision)}
    from .training.session import train_session

    path, steps_done = train_session(
        cfg, labelled, arch_args, resolved, run_dir if saved else None, progress, reference=reference, started=started
    )
    return Run(path=path, config=cfg, data=dc, steps_done=steps_done)


def _eval_reference(data, cfg: FitConfig, opts: dict, labelled):
    """The ``--eval-split`` of DATA, at the training size and labelled by the training classes."""
    from .data import read_data
    from .metrics import labels_for

    if cfg.eval_every <= 0:
        raise GanaugError("--eval-split picks the data that --eval-every measures against; give --eval-every N too")
    if isinstance(data, (str, Path)) and Path(data).is_dir():
        raise GanaugError(
            f"--eval-split {cfg.eval_split!r} needs DATA with splits (a .npz or a Hugging Face dataset); "
            f"{data} is a folder: leave --eval-split empty to measure against the training data"
        )
    dc = labelled.config
    ref = read_data(data, resolution=f"{dc.height}x{dc.width}", channels=dc.channels, split=cfg.eval_split, **opts)
    return type(ref)(ref.images, labels_for(ref, dc.class_names, f"the {cfg.eval_split} split"), ref.config)


def _apply_regime(labelled, cfg: FitConfig) -> None:
    """Keep the ``--train-fraction``/``--minority-fraction`` subset of the read data (in place), as evaluate does."""
    if cfg.train_fraction == 1 and cfg.minority_fraction == 1:
        return
    import torch

    from .data.subset import describe_subset, subset_indices

    dc = labelled.config
    keep = torch.from_numpy(subset_indices(labelled.labels, train_fraction=cfg.train_fraction,
                                           minority_fraction=cfg.minority_fraction, names=dc.class_names))  # fmt: skip
    before = len(labelled.labels)
    labelled.images, labelled.labels = labelled.images[keep], labelled.labels[keep]
    dc.class_counts = torch.bincount(labelled.labels, minlength=dc.num_classes).tolist()
    labelled.notes.append(
        f"data regime {describe_subset(cfg.train_fraction, cfg.minority_fraction)}: {len(keep)} of {before} samples "
        f"kept, per class {dc.class_counts}"
    )


def load_resumed(resume: str | Path, options: dict) -> tuple[Path, dict, FitConfig]:
    """The run folder, its saved ``fit_config.json`` and the config to continue with; only a few options may change."""
    from .training.run import find_run_dir

    run_dir = find_run_dir(resume)
    saved = read_json(run_dir / "fit_config.json")
    changed = {k for k, v in options.items() if saved["fit"].get(k) != v} - RESUMABLE_CHANGES
    if changed:
        raise GanaugError(
            f"--resume continues a run as it was configured; these options cannot change: {sorted(changed)}"
        )
    return run_dir, saved, FitConfig.from_dict({**saved["fit"], **options})


def _saved_task(resume: str | Path) -> str:
    from .training.run import find_run_dir

    return read_json(find_run_dir(resume) / "fit_config.json")["fit"].get("task", "cgan")


def export_config(resolved: dict, cfg: FitConfig, train_info: dict) -> dict:
    """The export's ``config.json``: enough to rebuild the network, plus the training summary."""
    from . import __version__

    training = {
        k: v
        for k, v in cfg.to_dict().items()
        if k
        in (
            "preset",
            "loss",
            "steps",
            "batch_size",
            "lr_g",
            "lr_d",
            "optimizer",
            "augment",
            "ema_decay",
            "seed",
            "train_fraction",
            "minority_fraction",
        )
    }
    if cfg.info_codes:
        training["info_weight"] = cfg.info_weight
    training.update(train_info)
    training["command"] = resolved["command"]
    return {
        "ganaug_version": __version__,
        "task": cfg.task,
        "arch": cfg.arch,
        "arch_args": copy.deepcopy(resolved["arch_args"]),
        "data": resolved["data"],
        "training": training,
        "metrics": {},
        **_codes_block(resolved["arch_args"]),
        **({"card": copy.deepcopy(resolved["card"])} if resolved.get("card") else {}),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _codes_block(arch_args: dict) -> dict:
    """``{"codes": [...]}``: the InfoGAN codes of the network (names, kinds, sizes, ranges), or nothing."""
    from .models.info import parse_codes

    specs = parse_codes(arch_args.get("info_codes", ""))
    return {"codes": [s.describe() for s in specs]} if specs else {}
