"""What a training session drives: a trainer, one optimisation step at a time with state that checkpoints bit for bit,
and a task around it (its data, sample grids, evaluations and export). The cGAN and the CycleGAN implement both.

Every random number of training comes from explicit CPU generators (one per stream, named by the trainer) or the
global torch state, and a checkpoint holds all of them, so a resumed run reaches the same weights as an unbroken one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from ..config import DataConfig, FitConfig
from ..errors import GanaugError
from .checkpoint import load_module, load_optimizer, load_rng, module_tensors, optimizer_state, rng_tensors
from .engine import Engine

if TYPE_CHECKING:
    from .run import RunFolder

STREAM_SEED = 1_000_003  # stream i of rank r starts from seed * STREAM_SEED + r + i: distinct streams per rank
RESUME_RANK_SEED = 7919  # a checkpoint holds rank 0's streams; rank r > 0 resumes from a prime stride past them


class NonFiniteLossError(GanaugError):
    """Training produced a NaN or infinite loss; nothing from that step was saved."""


def checked_step(trainer: Trainer, run_dir: Path | None) -> dict[str, float]:
    """``trainer.train_step()``; a non-finite loss becomes an error naming the last good checkpoint and a way out."""
    from .checkpoint import latest_checkpoint

    try:
        return trainer.train_step()
    except NonFiniteLossError as exc:
        good = latest_checkpoint(run_dir) if run_dir is not None else None
        where = f"the last good checkpoint is {good}" if good else "no checkpoint was written yet"
        raise NonFiniteLossError(f"{exc}; stopped without saving that step, {where}. Try {trainer.HINT}") from None


def make_optimizer(cfg: FitConfig, params, lr: float, beta1: float) -> torch.optim.Optimizer:
    """The ``--optimizer`` over ``params``: Adam (``beta1``, ``--beta2``), or RMSprop/SGD with momentum ``beta1``."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(beta1, cfg.beta2))
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=max(0.0, beta1))
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=max(0.0, beta1))
    raise GanaugError(f"optimizer {cfg.optimizer!r} is not accepted; choose adam, rmsprop or sgd")


class Trainer(ABC):
    """One process's networks, two optimizers (``opt_g``, ``opt_d``) and random streams; subclasses build the
    networks after ``super().__init__`` (which seeds torch, so every rank and every resume starts from the same
    weights) and write ``train_step``.
    """

    STREAMS: ClassVar[tuple[str, ...]]  # names of the explicit random streams, in seeding order
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = (("D", "loss_d"), ("G", "loss_g"))  # progress bar: label, stat
    FINAL: ClassVar[tuple[str, ...]] = ("loss_d", "loss_g")  # logged stats the export records as final_<name>
    HINT: ClassVar[str]  # what to try after a non-finite loss
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer

    def __init__(self, cfg: FitConfig, engine: Engine):
        self.cfg, self.engine = cfg, engine
        if cfg.batch_size % engine.world_size:
            raise GanaugError(f"--batch-size {cfg.batch_size} must divide evenly over {engine.world_size} processes")
        self.batch = cfg.batch_size // engine.world_size
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every resume
        seed = cfg.seed * STREAM_SEED + engine.rank
        self.gens = {name: torch.Generator().manual_seed(seed + i) for i, name in enumerate(self.STREAMS)}
        self.step = 0

    @abstractmethod
    def train_step(self) -> dict[str, float]:
        """One training step (``self.step`` counts it); its losses by name. Raises on a non-finite loss."""

    @abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """The networks a checkpoint holds, by name."""

    def compile(self) -> list[str]:
        """``torch.compile`` the networks' forward calls (not the modules, so checkpoints keep plain names); notes."""
        return []

    # -- shared phases ------------------------------------------------------------------------------------
    def keep(self, images: torch.Tensor) -> torch.Tensor:
        """Training images on the accelerator when they fit in 2 GiB, else on the CPU (batches move on draw)."""
        on_device = self.engine.device.type != "cpu" and images.numel() * 4 < 2 * 1024**3
        return self.engine.to_device(images) if on_device else images

    def set_lr(self, factor: float) -> None:
        """Both optimizers at ``factor`` times their base learning rate."""
        for opt, base in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def update(self, nets: Sequence[nn.Module], opt: torch.optim.Optimizer, loss: torch.Tensor, key: str) -> None:
        """One optimizer step on ``loss``: gradients averaged over processes, clipped per network, scaled for fp16."""
        scaler = self.engine.scaler(key)
        opt.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler else loss).backward()
        for net in nets:
            self.engine.all_reduce_grads(net)
        if self.cfg.grad_clip > 0:
            if scaler:
                scaler.unscale_(opt)
            for net in nets:
                nn.utils.clip_grad_norm_(net.parameters(), self.cfg.grad_clip)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()

    def check_finite(self, stats: torch.Tensor) -> None:
        """Raise :class:`NonFiniteLossError` unless every value of ``stats`` (loss_d, loss_g first) is finite."""
        if not bool(torch.isfinite(stats).all()):
            raise NonFiniteLossError(
                f"the loss became non-finite at step {self.step} (loss_d={stats[0].item()}, loss_g={stats[1].item()})"
            )

    # -- state --------------------------------------------------------------------------------------------
    def extra_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The subclass's own state beyond networks, optimizers and streams: (tensors, JSON)."""
        return {}, {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore what :meth:`extra_state` saved."""
        return None

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything a checkpoint holds: tensors (for safetensors) and JSON."""
        tensors: dict[str, torch.Tensor] = {}
        for name, net in self.networks().items():
            tensors.update(module_tensors(name, net))
        meta: dict = {"scalers": {name: scaler.state_dict() for name, scaler in self.engine.scalers.items()}}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            t, m = optimizer_state(name, opt)
            tensors.update(t)
            meta[name] = m
        extra_tensors, extra_meta = self.extra_state()
        tensors.update(extra_tensors)
        meta.update(extra_meta)
        tensors.update(rng_tensors(self.gens))
        meta["train_step"] = self.step
        return tensors, meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Continue from a checkpoint's ``state()``."""
        for name, net in self.networks().items():
            load_module(name, net, tensors)
        load_optimizer("opt_g", self.opt_g, tensors, meta["opt_g"])
        load_optimizer("opt_d", self.opt_d, tensors, meta["opt_d"])
        for name, state in meta.get("scalers", {}).items():
            self.engine.scaler(name).load_state_dict(state)
        self.load_extra_state(tensors, meta)
        load_rng(self.gens, tensors)
        step = int(meta["train_step"])
        if self.engine.rank != 0:  # the checkpoint holds rank 0's streams; other ranks derive fresh ones
            for i, g in enumerate(self.gens.values()):
                g.manual_seed(self.cfg.seed * STREAM_SEED + self.engine.rank * RESUME_RANK_SEED + step + i)
        self.step = step


class Task(ABC):
    """One task's part of a session, made from its data before training: it builds the trainer and, on the main
    process, draws the sample grids, evaluates and exports. The session decides when.
    """

    cfg: FitConfig  # the resolved configuration
    resolved: dict  # what the run folder's fit_config.json holds (a budget's plan updates its "fit")
    data: DataConfig  # the training data's description (domain A's for a CycleGAN)
    data_name: str  # what a new run folder is named after

    @abstractmethod
    def make_trainer(self, cfg: FitConfig, engine: Engine) -> Trainer:
        """The trainer of this task for one process (kept as ``self.trainer``)."""

    def initialize(self) -> bool:
        """Before the first step of a run that starts at step 0, on every process: the networks' starting weights
        when they come from elsewhere (``--init-from``). A run resumed from a checkpoint skips it. True when the
        run's resolved config gained a record of it (to be written again)."""
        return False

    def setup(self, run: RunFolder | None) -> tuple[str, str]:
        """Work before the first step that counts against a ``--max-time`` budget's set-up (``run`` is None on
        other processes); returns what set-up did and a hint to shorten it, for the budget's error."""
        return "reading the data", ""

    def start(self, run: RunFolder) -> None:
        """On the main process, just before the first step (after the budget judged set-up)."""
        return None

    @abstractmethod
    def save_samples(self, path: Path) -> None:
        """Write a sample grid of the current networks to ``path``."""

    def evaluate(self, step: int) -> dict | None:
        """A log record of quality metrics at ``step`` (``--eval-every``), or None."""
        return None

    def summary(self) -> dict:
        """The task's own entries of the export's training summary."""
        return {}

    export_deadline: float | None = None  # a time.perf_counter() value set by a --max-time budget before export

    @abstractmethod
    def export(self, run: RunFolder, cfg: FitConfig, info: dict) -> None:
        """Write ``run.path / "export"``; ``info`` is the session's training summary; optional work (such as the
        batch-norm recalibration) ends by ``export_deadline`` when a budget set it."""
