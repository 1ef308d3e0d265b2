"""The CycleGAN task of a session (``ganaug fit --task cyclegan DATA_A DATA_B``): resolve the options, read both
domains, then cycle grids, and at the end cycle reconstruction, the content guard and the export of both directions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..builders import TRANSLATORS
from ..config import FitConfig
from ..data import LabelledData
from ..errors import GanaugError
from ..generation.grid import save_grid
from ..presets import get_preset
from .budget import budget_option, describe_plan
from .cyclegan import CYCLEGAN_LOSSES, GRID_IMAGES, CycleTrainer
from .engine import Engine
from .run import RunFolder
from .summary import export_config
from .trainer import Task

# FitConfig fields of the conditional task that mean nothing to a CycleGAN: setting one is an error, not a no-op
# (the reader options of the conditional task are not applied to CycleGAN domains yet, so they are refused too)
NOT_FOR_CYCLEGAN = (
    "latent_dim", "upsample", "lr_decay", "d_steps", "r1_gamma", "gp_weight", "clip_value", "augment", "augment_p",
    "ada_target", "ada_kimg", "ema_decay", "balanced", "eval_every", "eval_metric", "eval_split", "class_loss",
    "class_loss_weight", "cond_ramp", "info_codes", "info_weight", "labels", "label_pattern", "class_meanings",
    "window", "sample_rate", "duration", "n_fft", "hop_length", "frames", "n_mels", "f_min", "f_max",
    "progan_stage_images", "progan_drift", "init_from", "holdout",
)  # fmt: skip
SUMMARY_FIELDS = (
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
    budget = budget_option(cfg.max_time)
    return cfg.replace(
        arch=arch,
        loss=loss,
        beta1=cfg.beta1 if cfg.beta1 >= 0 else entry.defaults["beta1"],
        ch=cfg.ch or entry.defaults["ch"],
        batch_size=cfg.batch_size if "batch_size" in user_set else 1,
        cyclegan_jitter=jitter,
        augment="none",
        max_time=budget if budget != "auto" else "",  # a CycleGAN runs its steps unless a budget is asked for
    )


def domain_pair(data: Any) -> tuple[str, str]:
    if data is None or isinstance(data, (str, os.PathLike)):
        raise GanaugError(f"{PAIR_HELP}; got {'none' if data is None else 'one: ' + os.fspath(data)}")
    items = list(data)
    if len(items) != 2:
        raise GanaugError(f"{PAIR_HELP}; got {len(items)}: {' '.join(map(str, items))}")
    return os.fspath(items[0]), os.fspath(items[1])


def prepare_cyclegan(
    data: Any, cfg: FitConfig, saved: dict | None, user_set: list[str], command: str | None
) -> CycleganTask:
    """Read both domains of ``data = (DATA_A, DATA_B)`` (B at A's size) and resolve what depends on them: the
    translators' arguments (a resumed run's ``saved`` ones) and whether the identity loss applies."""
    from ..data.unlabelled import read_domain
    from ..models.cyclegan import translator_args

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
    return CycleganTask(cfg, resolved, dom_a, dom_b)


class CycleganTask(Task):
    """A CycleGAN between the unpaired domains ``dom_a`` and ``dom_b`` (their class labels, where they have them,
    train the content guard)."""

    def __init__(self, cfg: FitConfig, resolved: dict, dom_a: LabelledData, dom_b: LabelledData):
        self.cfg, self.resolved, self.dom_a, self.dom_b = cfg, resolved, dom_a, dom_b
        self.data = dom_a.config
        self.data_name = "-".join(Path(s.removeprefix("hf:").rstrip("/")).name for s in resolved["data_source"])
        self.trainer: CycleTrainer | None = None

    def make_trainer(self, cfg: FitConfig, engine: Engine) -> CycleTrainer:
        images_a, images_b, args = self.dom_a.images, self.dom_b.images, self.resolved["arch_args"]
        self.trainer = CycleTrainer(cfg, images_a, images_b, args, engine, cfg.cyclegan_jitter == "on")
        return self.trainer

    def save_samples(self, path: Path) -> None:
        """Fixed images of both domains, translated and translated back."""
        grid = _grid(self.trainer)
        save_grid(grid, len(grid) // 6, path)

    def summary(self) -> dict:
        return {"identity_loss": self.trainer.identity}

    def export(self, run: RunFolder, cfg: FitConfig, info: dict) -> None:
        """Both translators (and the guard, when trained), with the cycle and guard metrics."""
        from ..translation.export import write_translator_export

        trainer = self.trainer
        metrics, guard, guard_config = measure(trainer, self.dom_a, self.dom_b, cfg.cyclegan_guard_steps, cfg.seed)
        weights = {"a2b": "a2b.", "b2a": "b2a.", **({"guard": "guard."} if guard else {})}
        blocks = {"data_b": self.resolved["data_b"], "weights": weights, "guard": guard_config}
        config = export_config(self.resolved, cfg, SUMMARY_FIELDS, info, metrics, **blocks)
        nets = {"a2b": trainer.nets["G_ab"], "b2a": trainer.nets["G_ba"], **({"guard": guard} if guard else {})}
        grid = _grid(trainer)
        ncol = min(GRID_IMAGES, len(grid) // 6)
        write_translator_export(run.path / "export", nets, config, grid, run.path.name, ncol=ncol)


def _grid(trainer: CycleTrainer) -> torch.Tensor:
    from ..translation.export import cycle_grid

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
