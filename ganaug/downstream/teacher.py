"""The teacher: a small classifier trained on the real training data and exported beside the generator.

It rejects synthetic samples whose top class is not the conditioned one or whose probability is under a threshold,
and gives soft labels (class probabilities at a temperature). ``ganaug fit`` trains it before the GAN (kept in the
run folder's ``teacher/``, so a resumed run reuses it) and exports it beside the generator (``teacher.safetensors`` +
``teacher.json``); its balanced accuracy on a stratified held-out fifth of the data goes into the card.

Example:
    >>> teacher = Teacher.train(x, y, class_names=["benign", "malignant"])  # doctest: +SKIP
    >>> teacher.probabilities(samples, temperature=2.0).shape  # doctest: +SKIP
    torch.Size([64, 2])
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GanaugError

TEACHER_WEIGHTS = "teacher.safetensors"
TEACHER_JSON = "teacher.json"
HELD_OUT = 0.2


def fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    """A short hash of a labelled tensor set (to recognise the teacher's own training data)."""
    digest = hashlib.sha256(x.contiguous().numpy().tobytes())
    digest.update(y.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _held_out_mask(y: torch.Tensor, counts: torch.Tensor, seed: int) -> torch.Tensor:
    """False for a stratified ``HELD_OUT`` share of each class (at least one sample), True for the rest."""
    rng = np.random.default_rng(seed)
    val = np.concatenate(
        [
            rng.permutation(np.flatnonzero(y.numpy() == i))[: max(1, round(int(n) * HELD_OUT))]
            for i, n in enumerate(counts.tolist())
            if n
        ]  # fmt: skip
    )
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[torch.from_numpy(val)] = False
    return mask


class Teacher:
    """A real-data classifier that filters synthetic samples and gives them soft labels.

    Example:
        >>> teacher = Teacher.load("runs/breast/export")  # doctest: +SKIP
        >>> keep = teacher.accepts(samples, 1, threshold=0.5)  # doctest: +SKIP
    """

    def __init__(self, net: nn.Module, info: dict):
        self.net = net.eval().requires_grad_(False)
        self.info = info

    @property
    def num_classes(self) -> int:
        return int(self.info["arch_args"]["num_classes"])

    @classmethod
    def train(
        cls,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        class_names: list[str],
        epochs: int = 30,
        seed: int = 0,
        device: str = "cpu",
        balanced: bool = True,
        augment: bool = True,
        max_seconds: float = 0.0,
        jobs: int = 1,
    ) -> Teacher:
        """Train on model-space ``x`` and class indices ``y``; score it first on a stratified held-out fifth (when
        every class has at least 5 samples), then train the exported one on everything. ``balanced`` draws its batches
        class-balanced (a teacher that never predicts a rare class would reject or relabel all of its samples);
        ``augment`` shifts images by whole pixels. ``max_seconds`` (0: none) cuts ``epochs`` to what a few timed steps
        say fits in that time (a fit's ``--max-time`` keeps its teacher to a share of the budget); ``info`` records
        the epochs trained and those asked. ``jobs=2`` trains the scored and the exported network side by side in two
        forked processes of one thread each, on a CPU with two cores free, for images of up to 64x64x3, which train on
        one thread anyway (the same weights as one after the other; 0: when this machine has the cores)."""
        from .classifier import (
            SmallResNet,
            epochs_within,
            one_thread_suits,
            predict_proba,
            resolve_device,
            seed_everything,
            shift_augment,
            train_classifier,
        )
        from .uplift import scores
        from .workers import map_seeds, resolve_jobs

        k = len(class_names)
        counts = torch.bincount(y, minlength=k)
        if len(y) < 2:
            raise GanaugError(f"the teacher needs at least 2 real samples, got {len(y)}")
        dev = resolve_device(device)
        _, c, h, w = x.shape

        def fit(xs: torch.Tensor, ys: torch.Tensor) -> nn.Module:
            seed_everything(seed)
            net = SmallResNet(c, k, h, w).to(memory_format=torch.channels_last)
            return train_classifier(
                net, xs, ys, epochs=epochs, seed=seed, device=dev, min_steps=min(200, 20 * epochs, 10 * len(ys)),
                balanced=balanced, augment=shift_augment if augment else None,
            ).cpu()  # fmt: skip

        def probe(mask: torch.Tensor) -> dict:
            s = scores(y[~mask].numpy(), predict_proba(fit(x[mask], y[mask]), x[~mask]))
            return {"balanced_accuracy": round(s["balanced_accuracy"], 4), "accuracy": round(s["accuracy"], 4),
                    "n": int((~mask).sum()), "of": "a stratified fifth of the training data, held out"}  # fmt: skip

        held = None
        asked = epochs
        with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
            present = counts[counts > 0]
            probe_too = len(present) > 1 and int(present.min()) >= 5
            # side by side only where each training has one thread anyway (small images), as the time rule assumes
            side_by_side = probe_too and one_thread_suits(x, dev) and resolve_jobs(jobs, 2, dev) == 2
            if max_seconds > 0:
                trainings = 2 if probe_too and not side_by_side else 1
                epochs = epochs_within(max_seconds, epochs, x, y, trainings=trainings, device=dev)
            if probe_too:
                mask = _held_out_mask(y, counts, seed)
            if side_by_side:  # the scored network in one process, the exported one in the other
                out = map_seeds(lambda i: probe(mask) if i == 0 else fit(x, y).state_dict(), range(2), 2)
                held, net = out[0], SmallResNet(c, k, h, w).to(memory_format=torch.channels_last)
                net.load_state_dict(out[1])
            else:
                held = probe(mask) if probe_too else None
                net = fit(x, y)
        info = {
            "arch": "SmallResNet",
            "arch_args": net.config,
            "class_names": list(class_names),
            "train_samples": int(len(y)),
            "epochs": epochs,
            "epochs_asked": asked,
            "seed": seed,
            "held_out": held,
            "batches": "class-balanced" if balanced else "uniform",
            "augment": "whole-pixel shifts" if augment else "none",
            "data_fingerprint": fingerprint(x, y),
        }
        return cls(net, info)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        return (
            torch.cat([self.net(chunk.to(device)).float().cpu() for chunk in x.split(256)])
            if len(x)
            else (torch.empty(0, self.num_classes))
        )

    def probabilities(self, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Class probabilities (N x K) of the softmax at ``temperature``."""
        if not temperature > 0:
            raise GanaugError(f"temperature must be > 0, got {temperature}")
        return torch.softmax(self.logits(x) / temperature, 1)

    def accepts(self, x: torch.Tensor, c: int, threshold: float = 0.0) -> torch.Tensor:
        """A mask of the samples whose top class is ``c`` with probability at least ``threshold``."""
        p = self.probabilities(x)
        return (p.argmax(1) == c) & (p[:, c] >= threshold)

    def save(self, folder: str | Path) -> Path:
        from ..exported import save_exported

        return save_exported(
            folder, self.net.state_dict(), TEACHER_JSON, self.info, TEACHER_WEIGHTS, {"ganaug": "teacher"}
        )

    @classmethod
    def load(cls, folder: str | Path) -> Teacher | None:
        """The teacher of an export folder, or None when it has none (exports from before teachers)."""
        from ..exported import load_exported
        from .classifier import SmallResNet

        folder = Path(folder)
        if not (folder / TEACHER_JSON).is_file():
            return None
        try:
            info, net = load_exported(
                folder, TEACHER_JSON, TEACHER_WEIGHTS, lambda c: SmallResNet.from_config(c["arch_args"])
            )
        except (OSError, KeyError, TypeError, ValueError, RuntimeError, GanaugError) as exc:
            raise GanaugError(f"the teacher in {folder} cannot be read ({exc}); export the model again") from exc
        return cls(net, info)


def require_teacher(teacher: Teacher | None, what: str, source: str) -> Teacher:
    """``teacher``, or a clear error saying that ``what`` needs one and how to get one."""
    if teacher is None:
        raise GanaugError(
            f"{what} needs the model's teacher classifier, and {source} has none (it was exported before teachers, "
            "or with --teacher-epochs 0). Fit it again with a current ganaug, or ask for hard labels and no filter"
        )
    return teacher
