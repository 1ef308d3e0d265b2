"""The mix recipe: how synthetic samples join real ones, as chosen by ``ganaug evaluate`` and written into the export.

A recipe says whether to add synthetic samples at all, how many per real sample (``ratio``; each batch is then
``ratio / (1 + ratio)`` synthetic), their loss ``weight``, the teacher ``filter`` and its ``threshold``, ``hard`` or
``soft`` labels (the teacher's probabilities at ``temperature``), the latent ``spread`` (the noise's standard
deviation), how many fresh synthetic pools a training sees (``refresh``) and the final fraction of training on real
samples only (``finetune``: two-stage training). With ``distill`` the real samples are distilled too: pairs of them
are blended by mixup and labelled by the teacher (the recipe goes on top of distillation, not plain labels).

Synthetic item ``k`` of class ``c`` under a recipe is the ``k``-th sample of the class's seeded item stream that
passes the filter, so ``evaluate`` and the dataset wrappers give the same items for the same seed.

Example:
    >>> Recipe(ratio=0.5, labels="soft").share
    0.3333333333333333
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import GanaugError

FILTERS = ("none", "teacher")
LABELS = ("hard", "soft")
SCAN_LIMIT = 20  # a class whose first items the teacher accepts under 1 in 20 of is left unfiltered


@dataclass(frozen=True)
class Recipe:
    """One way of mixing synthetic samples into training; see the module's doc.

    Example:
        >>> Recipe.from_dict({"ratio": 1, "filter": "teacher"}).filter
        'teacher'
    """

    add: bool = True
    ratio: float = 1.0
    weight: float = 1.0
    filter: str = "none"
    threshold: float = 0.5
    labels: str = "hard"
    temperature: float = 1.0
    spread: float = 1.0
    refresh: int = 1
    finetune: float = 0.0
    distill: bool = False  # real samples blended by mixup and labelled by the teacher, beside the synthetic ones
    with_classical: bool = False  # measured on top of classical augmentation: keep it in the pipeline

    def __post_init__(self) -> None:
        if self.filter not in FILTERS:
            raise GanaugError(f"recipe filter {self.filter!r} is unknown; choose one of {', '.join(FILTERS)}")
        if self.labels not in LABELS:
            raise GanaugError(f"recipe labels {self.labels!r} are unknown; choose one of {', '.join(LABELS)}")
        checks = {
            "ratio": self.ratio > 0,
            "weight": self.weight > 0,
            "threshold": 0 <= self.threshold <= 1,
            "temperature": self.temperature > 0,
            "spread": self.spread > 0,
            "refresh": isinstance(self.refresh, int) and self.refresh >= 1,
            "finetune": 0 <= self.finetune < 1,
            "distill": isinstance(self.distill, bool),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{b}={getattr(self, b)!r}" for b in bad)
            raise GanaugError(
                f"recipe values not accepted: {values} (ratio, weight, temperature, spread > 0; threshold in [0, 1]; "
                "refresh an integer >= 1; finetune in [0, 1); distill true or false)"
            )

    @property
    def share(self) -> float:
        """The synthetic fraction of each training batch."""
        return self.ratio / (1 + self.ratio)

    @property
    def needs_teacher(self) -> bool:
        return self.filter == "teacher" or self.labels == "soft" or self.distill

    @property
    def name(self) -> str:
        parts = [f"ratio {self.ratio:g}"]
        if self.filter == "teacher":
            parts.append(f"teacher filter {self.threshold:g}")
        parts.append("soft labels" + (f" T={self.temperature:g}" if self.temperature != 1 else "") if
                     self.labels == "soft" else "hard labels")  # fmt: skip
        if self.weight != 1:
            parts.append(f"weight {self.weight:g}")
        if self.spread != 1:
            parts.append(f"spread {self.spread:g}")
        if self.refresh > 1:
            parts.append(f"{self.refresh} fresh pools")
        if self.finetune > 0:
            parts.append(f"real-only last {self.finetune:.0%}")
        if self.distill:
            parts.append("on top of distillation")
        if self.with_classical:
            parts.append("on top of classical augmentation")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Recipe:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"name", "chosen_by", "verdict", "reason"})
        if unknown:
            raise GanaugError(f"unknown recipe field(s) {unknown}; known: {', '.join(sorted(names))}")
        kept = {k: v for k, v in d.items() if k in names}
        if "refresh" in kept and isinstance(kept["refresh"], float) and kept["refresh"].is_integer():
            kept["refresh"] = int(kept["refresh"])
        return cls(**kept)


def synthetic_plan(counts: list[int], ratio: float) -> list[int]:
    """Synthetic samples per class for ``ratio`` synthetic per real sample, each one to the smallest class so far."""
    total = round(ratio * sum(counts))
    have = [n if n > 0 else math.inf for n in counts]
    add = [0] * len(counts)
    for _ in range(total):
        c = int(np.argmin([h + a for h, a in zip(have, add, strict=True)]))
        add[c] += 1
    return add


class FilteredItems:
    """The items of a sampler that pass a recipe's filter: item ``k`` of class ``c`` is the ``k``-th accepted one of
    the class's seeded item stream. A class whose first ``BLOCK`` items the teacher accepts fewer than
    ``BLOCK / SCAN_LIMIT`` of is not filtered (its items as drawn; listed in ``unfiltered``).

    Example:
        >>> items = FilteredItems(Sampler("runs/breast", seed=0), teacher, Recipe(filter="teacher"))  # doctest: +SKIP
        >>> items.items(1, start=0, n=8).shape  # doctest: +SKIP
        torch.Size([8, 1, 28, 28])
    """

    BLOCK = 256

    def __init__(self, sampler, teacher, recipe: Recipe):
        if recipe.needs_teacher and teacher is None:
            raise GanaugError("the recipe's teacher filter or soft labels need a teacher")
        self.sampler, self.teacher, self.recipe = sampler, teacher, recipe
        self._accepted: dict[int, list[int]] = {}
        self._scanned: dict[int, int] = {}
        self.unfiltered: set[int] = set()

    def indices(self, c: int, start: int, n: int) -> list[int]:
        """The item-stream indices of filtered items ``start .. start + n - 1`` of class ``c``."""
        if self.recipe.filter == "none" or c in self.unfiltered:
            return list(range(start, start + n))
        accepted = self._accepted.setdefault(c, [])
        while len(accepted) < start + n:
            pos = self._scanned.get(c, 0)
            x = self.sampler.items(c, range(pos, pos + self.BLOCK))
            keep = self.teacher.accepts(x, c, self.recipe.threshold)
            if pos == 0 and int(keep.sum()) < self.BLOCK / SCAN_LIMIT:
                self.unfiltered.add(c)
                return list(range(start, start + n))
            accepted += (pos + torch.nonzero(keep).flatten()).tolist()
            self._scanned[c] = pos + self.BLOCK
        return accepted[start : start + n]

    def items(self, c: int, start: int, n: int) -> torch.Tensor:
        """Filtered items ``start .. start + n - 1`` of class ``c`` (N x C x H x W, model space)."""
        if n <= 0:
            d = self.sampler.data
            return torch.empty(0, d.channels, d.height, d.width)
        return self.sampler.items(c, self.indices(c, start, n))

    def targets(self, x: torch.Tensor, c: int) -> torch.Tensor:
        """Training targets of class-``c`` samples as N x K probabilities: one-hot, or the teacher's (soft labels)."""
        if self.recipe.labels == "soft":
            return self.teacher.probabilities(x, self.recipe.temperature)
        k = self.sampler.num_classes
        return torch.nn.functional.one_hot(torch.full((len(x),), c, dtype=torch.long), k).float()


def model_recipe(generator, recipe: Any = "auto") -> Recipe | None:
    """The recipe a wrapper uses: ``"auto"`` the export's (``config.json`` ``recipe``; None when it has none), a
    :class:`Recipe` or dict as given, None or ``"none"`` for plain sampling."""
    if recipe is None or recipe == "none":
        return None
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return Recipe.from_dict(recipe)
    if recipe == "auto":
        saved = generator.config.get("recipe")
        return Recipe.from_dict(saved) if saved else None
    raise GanaugError(f"recipe must be 'auto', 'none', a Recipe or a dict, got {recipe!r}")


def model_teacher(generator, recipe: Recipe | None):
    """The export's teacher when the recipe needs one (a clear error when the export has none), else None."""
    if recipe is None or not recipe.needs_teacher:
        return None
    from .teacher import Teacher, require_teacher

    what = "the recipe's " + ("soft labels" if recipe.labels == "soft" else "teacher filter")
    folder = generator.folder
    return require_teacher(Teacher.load(folder) if folder else None, what, generator.source or "this generator")


def synthetic_pool(items: FilteredItems, plan: list[int], pool: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool ``pool`` of synthetic samples: ``plan[c]`` filtered items of each class (from item ``pool * plan[c]``),
    with their targets as N x K probabilities. Pool ``p`` is what a dataset wrapper gives in epoch ``p``."""
    xs, ts = [], []
    for c, n in enumerate(plan):
        if n > 0:
            x = items.items(c, pool * n, n)
            xs.append(x)
            ts.append(items.targets(x, c))
    if not xs:
        d = items.sampler.data
        return torch.empty(0, d.channels, d.height, d.width), torch.empty(0, items.sampler.num_classes)
    return torch.cat(xs), torch.cat(ts)


def mix_loss(
    logits: torch.Tensor, target: torch.Tensor, is_synthetic: torch.Tensor | None = None, weight: float = 1.0
) -> torch.Tensor:
    """Cross-entropy for batches that mix real and synthetic items, as ``evaluate`` trains: ``target`` holds class
    indices (N) or class probabilities (N x K, soft labels), and synthetic items count ``weight`` times a real one.

    Example:
        >>> x, y, flag = next(iter(loader))  # SyntheticMixDataset(..., return_flag=True)  # doctest: +SKIP
        >>> loss = mix_loss(model(x), y, flag, weight=mixed.recipe.weight)  # doctest: +SKIP
    """
    if logits.ndim != 2:
        raise GanaugError(f"logits must be N x K, got shape {tuple(logits.shape)}")
    n, k = logits.shape
    if target.ndim == 1 and not target.is_floating_point():
        probs = torch.nn.functional.one_hot(target.long(), k).to(logits.dtype)
    elif target.ndim == 2 and target.shape == (n, k):
        probs = target.to(logits.dtype)
    else:
        raise GanaugError(
            f"target of shape {tuple(target.shape)} ({target.dtype}) does not fit logits {n} x {k}: give class indices "
            f"(N, an integer tensor) or soft labels (N x {k} probabilities, as soft-label datasets give). A loss "
            "that takes only class indices (nn.NLLLoss) cannot use soft labels: use this function or "
            "nn.CrossEntropyLoss, which accepts probabilities"
        )
    w = torch.ones(n, dtype=logits.dtype, device=logits.device)
    if is_synthetic is not None:
        w = torch.where(is_synthetic.to(logits.device).bool(), torch.as_tensor(float(weight), dtype=w.dtype), w)
    per_item = -(probs * torch.log_softmax(logits, 1)).sum(1)
    return (per_item * w).sum() / w.sum().clamp_min(1e-12)


class StreamFilter:
    """The recipe's teacher filter for a sampler's buffered stream (the transforms): keeps the accepted samples of
    each generated batch; a class whose first batch the teacher accepts under 1 in ``SCAN_LIMIT`` of is left
    unfiltered, as :class:`FilteredItems` does."""

    def __init__(self, teacher, threshold: float):
        self.teacher, self.threshold = teacher, threshold
        self.unfiltered: set[int] = set()
        self._seen: set[int] = set()

    def __call__(self, batch: torch.Tensor, c: int) -> torch.Tensor:
        if c in self.unfiltered:
            return batch
        keep = self.teacher.accepts(batch, c, self.threshold)
        first = c not in self._seen
        self._seen.add(c)
        if first and int(keep.sum()) < len(batch) / SCAN_LIMIT:
            self.unfiltered.add(c)
            return batch
        return batch[keep]


def apply_to_stream(sampler, recipe: Any, p: float | None) -> tuple[Recipe | None, float]:
    """Set up a transform's sampler by the model's recipe (spread, teacher filter) and resolve its probability:
    ``p`` as given, else the recipe's synthetic share (0 when the recipe says not to add samples), else 0.5."""
    resolved = model_recipe(sampler.generator, recipe)
    if resolved is not None:
        sampler.spread = resolved.spread
        if resolved.filter == "teacher":
            teacher = model_teacher(sampler.generator, Recipe(filter="teacher"))
            sampler.accept = StreamFilter(teacher, resolved.threshold)
    if p is None:
        p = (resolved.share if resolved.add else 0.0) if resolved is not None else 0.5
    if resolved is not None and resolved.add and resolved.distill and p > 0:
        import warnings

        warnings.warn(
            f"the model's recipe ({resolved.name}) was measured on top of distillation: pass each training batch "
            "through ganaug.DistillMixUp(MODEL) as well (it blends the real images by mixup and labels them with the "
            "model's teacher); without it the synthetic images come with hard labels only",
            stacklevel=3,
        )
    return resolved, p


class ItemSource:
    """Synthetic items by the model's recipe for written datasets (``balance``, ``generate``): item ``k`` of class
    ``c`` is the ``k``-th one that passes the recipe's filter, drawn at its latent spread; ``seed(c, k)`` is its
    noise seed for the manifest."""

    def __init__(self, sampler, recipe: Any = "auto"):
        self.sampler = sampler
        self.recipe = model_recipe(sampler.generator, recipe)
        if self.recipe is not None:
            sampler.spread = self.recipe.spread
        teacher = model_teacher(sampler.generator, self.recipe)
        self.filtered = FilteredItems(sampler, teacher, self.recipe) if self.recipe is not None else None

    def _index(self, c: int, k: int) -> int:
        return k if self.filtered is None else self.filtered.indices(c, k, 1)[0]

    def items(self, c: int, ks) -> torch.Tensor:
        return self.sampler.items(c, [self._index(c, k) for k in ks])

    def seed(self, c: int, k: int) -> int:
        return self.sampler.item_seed(c, self._index(c, k))
