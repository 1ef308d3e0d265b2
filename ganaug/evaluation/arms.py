"""The arms of ``ganaug evaluate``: controls, candidate recipes, and one paired classifier training per (arm, seed).

Every arm trains the same classifier for the same number of optimizer steps, from the same initial weights and data
order for a given seed (paired seeds), so that differences between arms are the data's, not the schedule's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..downstream.classifier import (
    ModelFactory,
    SyntheticStream,
    predict_proba,
    resolve_device,
    seed_everything,
    shift_augment,
    train_classifier,
)
from ..downstream.recipe import FilteredItems, Recipe, synthetic_pool
from ..downstream.uplift import scores
from .distill import MIXUP_ALPHA

CONTROLS = ("real", "duplicate", "classical", "distill")
TITLES = {
    "real": "real only",
    "duplicate": "real + duplicated minority",
    "classical": "real + classical augmentation",
    "distill": "real, the teacher's soft labels with mixup (distillation)",
}
MIN_STEPS = 500


def default_recipes(ratios: tuple[float, ...] = (1.0,), refresh: int = 5) -> list[Recipe]:
    """The candidates ``evaluate`` compares on validation, per ratio: plain samples; the teacher filter; the filter
    with the teacher's soft labels; the same with two-stage training (real only for the last fifth); the same with a
    wider latent spread; the same on top of distillation (real samples blended by mixup and labelled by the teacher).
    Then one mostly synthetic recipe: soft labels at three times the largest ratio."""
    out = []
    for r in ratios:
        out += [
            Recipe(ratio=r, refresh=refresh),
            Recipe(ratio=r, filter="teacher", refresh=refresh),
            Recipe(ratio=r, filter="teacher", labels="soft", refresh=refresh),
            Recipe(ratio=r, filter="teacher", labels="soft", refresh=refresh, finetune=0.2),
            Recipe(ratio=r, filter="teacher", labels="soft", refresh=refresh, spread=1.5),
            Recipe(ratio=r, filter="teacher", labels="soft", refresh=refresh, distill=True),
        ]
    return [*out, Recipe(ratio=3 * max(ratios), filter="teacher", labels="soft", refresh=refresh)]


def _hashes(x: torch.Tensor) -> list[str]:
    return [hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in x.contiguous()]


def overlap_count(test: torch.Tensor, train: torch.Tensor) -> int:
    """How many TEST samples are identical to a training sample."""
    seen = set(_hashes(train))
    return sum(h in seen for h in _hashes(test))


def nothing_to_duplicate(counts: list[int]) -> bool:
    """Every non-empty class is as large as the largest: :func:`duplicate_minority` would add no sample."""
    return len({c for c in counts if c}) <= 1


def duplicate_minority(y: torch.Tensor, seed: int) -> torch.Tensor:
    """Indices that top every class up to the largest one by duplicating random real samples."""
    gen = torch.Generator().manual_seed(seed)
    counts = torch.bincount(y)
    out = [torch.arange(len(y))]
    for c, n in enumerate(counts.tolist()):
        if 0 < n < int(counts.max()):
            members = torch.nonzero(y == c).flatten()
            out.append(members[torch.randint(n, (int(counts.max()) - n,), generator=gen)])
    return torch.cat(out)


def classical_augment(photometric: bool, rows: bool = True):
    """A batch augmentation (``fn(x, generator)``) as a careful practitioner sets it up for small images: each image,
    with probability 1/2, shifted by whole pixels (up to 1/8 of its size, reflected at the border: no resampling
    blur; ``rows=False``: along the width only, a spectrogram's time axis); with ``photometric`` (data whose preset
    keeps labels under them) also horizontal flips and brightness/contrast jitter."""

    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        out = shift_augment(x, gen, rows)
        n = len(out)
        if photometric:
            flip = torch.rand(n, generator=gen) < 0.5
            out[flip] = out[flip].flip(-1)
            contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.2
            bright = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.2
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            out = ((out - mean) * contrast + mean + bright).clamp(-1, 1)
        return out

    return augment


@dataclass
class Job:
    """One arm's training data for one seed."""

    x: torch.Tensor
    y: torch.Tensor
    augment: Any = None
    synthetic: SyntheticStream | None = None
    relabel: Any = None
    mixup: float = 0.0
    extra: dict = field(default_factory=dict)


class Arms:
    """Trains one classifier per (arm, seed) for ``steps`` updates and scores it on each evaluation set."""

    def __init__(self, factory: ModelFactory, shape: tuple[int, int, int], k: int, steps: int, device: str):
        self.factory, self.shape, self.k, self.steps = factory, shape, k, steps
        self.device = resolve_device(device)

    def run(self, job: Job, seed: int, evaluate=()) -> tuple[list[dict], list[np.ndarray]]:
        seed_everything(seed)
        net = self.factory(self.shape[0], self.k, self.shape[1], self.shape[2])
        net = net.to(memory_format=torch.channels_last)  # oneDNN and cuDNN convolutions run faster channels-last
        net = train_classifier(
            net, job.x, job.y, steps=self.steps, seed=seed, augment=job.augment, device=self.device,
            synthetic=job.synthetic, relabel=job.relabel, mixup=job.mixup,
        )  # fmt: skip
        probs = [predict_proba(net, tx) for tx, _ in evaluate]
        return [scores(ty.numpy(), p) for (_, ty), p in zip(evaluate, probs, strict=True)], probs


def recipe_stream(sampler, teacher, recipe: Recipe, plan: list[int]) -> SyntheticStream:
    """The synthetic side of a recipe's arm: ``recipe.refresh`` fresh pools of ``plan`` items, drawn when needed."""
    items = FilteredItems(sampler, teacher, recipe)
    cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def pool(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if i not in cache:
            cache[i] = synthetic_pool(items, plan, pool=i)
        return cache[i]

    return SyntheticStream(pool=pool, pools=recipe.refresh, share=recipe.share, weight=recipe.weight,
                           finetune=recipe.finetune)  # fmt: skip


def recipe_job(x: torch.Tensor, y: torch.Tensor, stream: SyntheticStream, recipe: Recipe, teacher,
               augment=None) -> Job:  # fmt: skip
    """A recipe's arm: the real samples (distilled by the teacher with mixup for a ``distill`` recipe) and the
    recipe's synthetic stream."""
    if not recipe.distill:
        return Job(x, y, augment=augment, synthetic=stream)
    return Job(x, y, augment=augment, synthetic=stream, relabel=distill_labels(teacher, recipe.temperature),
               mixup=MIXUP_ALPHA)  # fmt: skip


def distill_labels(teacher, temperature: float):
    """``relabel(batch)``: the teacher's class probabilities at ``temperature`` (distillation's targets)."""
    return lambda xb: teacher.probabilities(xb, temperature)
