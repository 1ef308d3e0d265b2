"""The class-conditional task of a session: read the labelled data, then the teacher classifier, class grids,
``--eval-every`` measurements and the export of the EMA generator.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..config import FitConfig, parse_resolution
from ..data import LabelledData
from ..errors import GanaugError
from ..generation.export import class_grid, write_export
from ..generation.grid import save_grid
from ..presets import get_preset
from .budget import cpu_note, default_budget, describe_plan, parse_duration
from .ema import RECALIBRATION_BATCHES, recalibrate_batchnorm
from .engine import Engine
from .loop import CganTrainer
from .run import RunFolder
from .summary import export_config
from .trainer import Task

if TYPE_CHECKING:
    from .transfer import InitSource

SUMMARY_FIELDS = (
    "preset", "loss", "steps", "batch_size", "lr_g", "lr_d", "optimizer", "augment", "ema_decay", "seed",
    "train_fraction", "minority_fraction", "holdout",
)  # fmt: skip
GRID_COLUMNS = 8
AUTO_EVAL_FRACTION = 10  # --eval-every -1: a tenth of the run, so that the CAS-chosen export has ten to choose from
AUTO_EVAL_MIN_STEPS = 1000  # shorter runs (tests, dry runs of a recipe) skip the measurements
TEACHER_SHARE = 0.15  # with --max-time, the teacher's epochs (or, without a teacher, the extractor's) fit this share


def prepare_cgan(data: Any, cfg: FitConfig, saved: dict | None, user_set: list[str], command: str | None) -> CganTask:
    """Read ``data`` (the ``--train-fraction``/``--minority-fraction`` subset of it) and resolve what depends on it:
    resolution, channels, network arguments (a resumed run's ``saved`` ones), and the ``--eval-split`` reference."""
    from ..data import read_data
    from ..data.options import after_reading, reader_options

    opts = reader_options(cfg)
    labelled = read_data(
        data, resolution=cfg.resolution, channels=cfg.channels, split=cfg.split, skip_bad=cfg.skip_bad, **opts
    )
    _apply_regime(labelled, cfg)
    card = after_reading(labelled, cfg)
    dc = labelled.config
    h, w = parse_resolution(f"{dc.height}x{dc.width}", (dc.height, dc.width))
    cfg = resolve_measurements(cfg.replace(resolution=f"{h}x{w}", channels=dc.channels), dc.num_classes)
    cfg = resolve_eval_split(cfg, data, labelled)
    note = cpu_note(cfg, user_set)
    if note:
        labelled.notes.append(note)
    auto_budget = cfg.max_time == "auto"
    cfg = default_budget(cfg, user_set, h, w)
    if auto_budget and cfg.max_time:
        labelled.notes.append(
            f"on this CPU the run is planned to {cfg.max_time} of wall-clock time (--max-time auto, without --steps); "
            "give --max-time 1h or --steps N for a longer one"
        )
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
    init = None
    if cfg.init_from and saved is None:  # checked now, so that --dry-run says what is wrong (a resume skips it)
        from .transfer import find_source

        init = find_source(cfg.init_from, cfg.arch, arch_args)
        labelled.notes.append(init.note(dc.class_names))
    progan = None
    if cfg.arch == "progan":  # the stage schedule; an auto one is fixed from the steps here (a resume keeps it)
        from .progan_schedule import resolve_progan

        cfg, progan = resolve_progan(cfg, arch_args["height"], arch_args["width"])
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
        **({"progan": progan} if progan is not None else {}),
        **({"init_from": init.record()} if init is not None else {}),
        **({"init_from": saved["init_from"]} if saved is not None and "init_from" in saved else {}),
    }
    reference = _eval_reference(data, cfg, opts, labelled) if cfg.eval_split else None
    return CganTask(cfg, resolved, labelled, reference, init)


def resolve_measurements(cfg: FitConfig, num_classes: int) -> FitConfig:
    """The ``auto`` measurement options, which depend on the data's classes: a CAS-chosen export (``--eval-every`` a
    tenth of the run, ``--eval-metric cas``; FID with one class). On imbalanced BreastMNIST the CAS-chosen weights of
    a 10-minute fit raised the downstream gain over the old default (the last weights of a 5000-step fit) by several
    points, with or without a class loss (``benchmarks/value_levers.py generators``)."""
    metric = cfg.eval_metric if cfg.eval_metric != "auto" else ("cas" if num_classes >= 2 else "fid")
    every = cfg.eval_every
    if every < 0:
        every = cfg.steps // AUTO_EVAL_FRACTION if cfg.steps >= AUTO_EVAL_MIN_STEPS else 0
    return cfg.replace(eval_metric=metric, eval_every=every)


def resolve_eval_split(cfg: FitConfig, data: Any, labelled: LabelledData) -> FitConfig:
    """``--eval-split auto``: DATA's validation split when it has one and the run measures (``--eval-every``), so
    that the export is chosen on images the generator never saw; else the training data."""
    if cfg.eval_split != "auto":
        return cfg
    from ..data.splits import held_out_split

    split = held_out_split(data, cfg.split) if cfg.eval_every > 0 else ""
    if split:
        labelled.notes.append(
            f"the {cfg.eval_metric.upper()} that chooses the export is measured on the {split!r} split, which the "
            "generator never sees (--eval-split auto; give --eval-split '' for the training data)"
        )
    return cfg.replace(eval_split=split)


class CganTask(Task):
    """A class-conditional GAN on ``labelled``; ``reference`` is the ``--eval-split`` data, if any."""

    def __init__(
        self,
        cfg: FitConfig,
        resolved: dict,
        labelled: LabelledData,
        reference: LabelledData | None,
        init: InitSource | None = None,
    ):
        self.cfg, self.resolved, self.labelled, self.reference = cfg, resolved, labelled, reference
        self.init = init  # --init-from: the run the networks start from
        self.data, self.data_name = labelled.config, resolved["data_source"]
        self.arch_args = resolved["arch_args"]
        self.trainer: CganTrainer | None = None
        self.teacher = self.tracker = None

    def make_trainer(self, cfg: FitConfig, engine: Engine) -> CganTrainer:
        self.trainer = CganTrainer(cfg, self.labelled.images, self.labelled.labels, self.arch_args, engine)
        return self.trainer

    def initialize(self) -> bool:
        """``--init-from``: the networks start from the source run's newest checkpoint."""
        if not self.cfg.init_from:
            return False
        from .transfer import find_source, init_networks

        if self.init is None:  # a resumed run that had no checkpoint yet starts over, from the source too
            self.init = find_source(self.cfg.init_from, self.cfg.arch, self.arch_args)
        counts = init_networks(self.trainer.networks(), self.init, self.data.class_names)
        self.resolved["init_from"] = {**self.init.record(), **counts}
        return True

    def setup(self, run: RunFolder | None) -> tuple[str, str]:
        """The teacher classifier is trained before the first step, so it counts as set-up."""
        if run is not None:
            trainer = self.trainer
            jobs = 1 if trainer.engine.distributed else 0  # a torchrun job's other processes have the other cores
            self.teacher = _teacher(trainer.cfg, self.labelled, trainer.engine.device, run.path / "teacher", jobs)
        if self.teacher is None:
            return "reading the data", ""
        return "reading the data and training the teacher classifier", " or --teacher-epochs 0"

    def start(self, run: RunFolder) -> None:
        cfg = self.trainer.cfg
        if cfg.eval_every > 0:
            from ..metrics.tracking import QualityTracker

            device = self.trainer.engine.device  # the teacher is the extractor: one network of that kind, not two
            self.tracker = QualityTracker(run.path, self.labelled, self.arch_args, device, metric=cfg.eval_metric,
                                          reference=self.reference, max_seconds=setup_limit(cfg),
                                          teacher=self.teacher)  # fmt: skip

    def save_samples(self, path: Path) -> None:
        """A row per class of the EMA generator, the same noise every time."""
        args = self.arch_args
        images = class_grid(self.trainer.ema.shadow, args["num_classes"], args["latent_dim"], GRID_COLUMNS)
        growth = self.trainer.growth
        title = f"step {self.trainer.step}, {growth.title()}" if growth is not None else None
        save_grid(images, GRID_COLUMNS, path, row_labels=self.labelled.config.class_names, title=title)

    def evaluate(self, step: int) -> dict | None:
        return self.tracker.evaluate(step, self.trainer.ema.shadow) if self.tracker else None

    def summary(self) -> dict:
        growth = self.trainer.growth
        init = {"init_from": self.resolved["init_from"]} if "init_from" in self.resolved else {}
        return {"final_augment_p": self.trainer.ada.p, **(growth.summary() if growth is not None else {}), **init}

    def export(self, run: RunFolder, cfg: FitConfig, info: dict) -> None:
        """The EMA generator (batch-norm statistics recalibrated; the best by ``--eval-metric`` when measured), the
        teacher beside it."""
        args = self.arch_args
        net = copy.deepcopy(self.trainer.ema.shadow)
        device = self.trainer.engine.device
        measured = recalibrate_batchnorm(net, args["num_classes"], args["latent_dim"], device,
                                         deadline=self.export_deadline)  # fmt: skip
        if 0 < measured < RECALIBRATION_BATCHES:  # cut short by the --max-time budget: say so in the export
            info = {**info, "batchnorm_recalibration_batches": measured}
        net = self.tracker.best_net(net.eval()) if self.tracker else net.eval()
        config = export_config(self.resolved, cfg, SUMMARY_FIELDS, info)
        if self.teacher is not None:
            t = self.teacher.info  # a teacher saved before the time rule has no epochs_asked: it trained them all
            config["teacher"] = {"held_out": t["held_out"], "epochs": t["epochs"],
                                 "epochs_asked": t.get("epochs_asked", t["epochs"])}  # fmt: skip
        config = self.tracker.update_config(config) if self.tracker else config
        write_export(run.path / "export", net.cpu(), config, run.path.name, teacher=self.teacher)
        if config["training"].get("cas_still_rising"):
            t = config["training"]
            print(f"note: the fit-time CAS was highest at the last measurement ({t['best_cas']}, step "
                  f"{t['best_step']}), so the samples may still have been improving; a new fit with a longer "
                  "--max-time (or more --steps) may carry the classes better")  # fmt: skip


def setup_limit(cfg: FitConfig) -> float:
    """Seconds the teacher (or, without one, the fit-time feature extractor) may take under ``--max-time`` (0: no
    limit)."""
    return TEACHER_SHARE * parse_duration(cfg.max_time) if cfg.max_time else 0.0


def _teacher(cfg: FitConfig, labelled: LabelledData, device: torch.device, folder: Path, jobs: int = 1):
    """The teacher classifier for the export (None with ``--teacher-epochs 0`` or a single class). It is trained
    before the GAN and kept in ``folder``: a resumed run reuses it when it was trained on the same data the same way.
    """
    if cfg.teacher_epochs <= 0 or labelled.config.num_classes < 2:
        return None
    from ..downstream.teacher import Teacher, fingerprint

    try:
        saved = Teacher.load(folder)
    except GanaugError:  # cut short by a kill while it was saved: train it again
        saved = None
    if saved is not None:  # the same data, seed and --teacher-epochs (the epochs it trained may have been cut)
        asked = saved.info.get("epochs_asked", saved.info.get("epochs"))
        same = (saved.info.get("data_fingerprint"), asked, saved.info.get("seed"))
        if same == (fingerprint(labelled.images, labelled.labels), cfg.teacher_epochs, cfg.seed):
            return saved
    teacher = Teacher.train(labelled.images, labelled.labels, class_names=labelled.config.class_names,
                            epochs=cfg.teacher_epochs, seed=cfg.seed, device=str(device),
                            max_seconds=setup_limit(cfg), jobs=jobs)  # fmt: skip
    teacher.save(folder)
    return teacher


def _eval_reference(data: Any, cfg: FitConfig, opts: dict, labelled: LabelledData) -> LabelledData:
    """The ``--eval-split`` of DATA, at the training size and labelled by the training classes."""
    from ..data import read_data
    from ..metrics import labels_for

    if cfg.eval_every <= 0:
        raise GanaugError(
            "--eval-split picks the data that --eval-every measures against; give --eval-every N too (auto "
            f"measures runs of {AUTO_EVAL_MIN_STEPS} steps or more only)"
        )
    if isinstance(data, (str, Path)) and Path(data).is_dir():
        raise GanaugError(
            f"--eval-split {cfg.eval_split!r} needs DATA with splits (a .npz or a Hugging Face dataset); "
            f"{data} is a folder: leave --eval-split empty to measure against the training data"
        )
    dc = labelled.config
    ref = read_data(data, resolution=f"{dc.height}x{dc.width}", channels=dc.channels, split=cfg.eval_split, **opts)
    return type(ref)(ref.images, labels_for(ref, dc.class_names, f"the {cfg.eval_split} split"), ref.config)


def _apply_regime(labelled: LabelledData, cfg: FitConfig) -> None:
    """Keep the ``--train-fraction``/``--minority-fraction`` subset of the read data (in place), as evaluate does,
    then leave ``--holdout`` of it out: the samples evaluate carves as its validation split, the same way."""
    from ..data.subset import carve_validation, describe_subset, subset_indices

    dc = labelled.config

    def keep(indices) -> None:  # in place, with the class counts the export records
        labelled.images, labelled.labels = labelled.images[indices], labelled.labels[indices]
        dc.class_counts = torch.bincount(labelled.labels, minlength=dc.num_classes).tolist()

    if cfg.train_fraction != 1 or cfg.minority_fraction != 1:
        fractions = {"train_fraction": cfg.train_fraction, "minority_fraction": cfg.minority_fraction}
        before = len(labelled.labels)
        keep(torch.from_numpy(subset_indices(labelled.labels, names=dc.class_names, **fractions)))
        labelled.notes.append(
            f"data regime {describe_subset(cfg.train_fraction, cfg.minority_fraction)}: {len(labelled.labels)} of "
            f"{before} samples kept, per class {dc.class_counts}"
        )
    if cfg.holdout > 0:
        hint = "Add samples, raise --holdout, or give 0 to train on every sample"
        train, held = carve_validation(labelled.labels, cfg.holdout, dc.class_names, hint=hint)
        held_counts = torch.bincount(labelled.labels[held], minlength=dc.num_classes).tolist()
        keep(train)
        labelled.notes.append(
            f"--holdout {cfg.holdout:g}: {len(held)} samples (per class {held_counts}) are left out of training; "
            "ganaug evaluate on the same DATA validates on them, samples the generator never saw"
        )
