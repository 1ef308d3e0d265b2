"""Map-style dataset wrappers that add synthetic samples to any dataset of ``(x, y)`` items.

Wrapped items are ``(x, y)`` pairs (torchvision datasets, plain lists) or dicts with an image key and a label key
(a Hugging Face ``datasets`` dataset, with or without a set format). Real items come first, then the synthetic ones
grouped by class; synthetic item ``i`` is reproducible from ``(seed, i)`` and has the type, size, channels, dtype and
range of the dataset's first item. Labels are the generator's class indices, or class names where the dataset
names its classes (``dataset.classes``, a ``ClassLabel`` feature) and those names are the generator's.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.hf import IMAGE_NAMES, LABEL_NAMES
from ..downstream.recipe import FilteredItems, Recipe, model_recipe, model_teacher, synthetic_plan
from ..errors import GanaugError
from ..transforms import functional as F
from .generator import Generator
from .sampling import Sampler

__all__ = ["ClassBalancedDataset", "SyntheticMixDataset", "TransformedDataset", "plan_targets"]


@dataclass(frozen=True)
class ItemFormat:
    """How an item holds its image and label: a tuple, or a dict with ``image_key`` and ``label_key``."""

    kind: str
    image_key: str = ""
    label_key: str = ""

    @classmethod
    def of(cls, item: Any) -> ItemFormat:
        if isinstance(item, (tuple, list)) and len(item) == 2:
            return cls("tuple")
        if isinstance(item, Mapping):
            image_key = next((k for k in IMAGE_NAMES if k in item), None)
            label_key = next((k for k in LABEL_NAMES if k in item), None)
            if image_key and label_key:
                return cls("dict", image_key, label_key)
        what = f"a {len(item)}-item {type(item).__name__}" if isinstance(item, (tuple, list)) else type(item).__name__
        if isinstance(item, Mapping):
            what = f"a dict with keys {', '.join(map(str, item))}"
        raise GanaugError(
            f"items of the wrapped dataset must be (x, y) pairs or dicts with an image key ({'/'.join(IMAGE_NAMES)}) "
            f"and a label key ({'/'.join(LABEL_NAMES)}); got {what}"
        )

    def split(self, item: Any) -> tuple[Any, Any]:
        if self.kind == "tuple":
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                ItemFormat.of(item)  # raises the clear error
            return item[0], item[1]
        return item[self.image_key], item[self.label_key]

    def build(self, x: Any, y: Any, flag: bool | None) -> Any:
        if self.kind == "tuple":
            return (x, y) if flag is None else (x, y, flag)
        item = {self.image_key: x, self.label_key: y}
        if flag is not None:
            item["is_synthetic"] = flag
        return item


def _base(dataset: Any) -> tuple[Any, list[int] | None]:
    """The innermost dataset below ``torch.utils.data.Subset`` wrappers, and the indices into it (None: all)."""
    indices = None
    while isinstance(dataset, torch.utils.data.Subset):
        sub = list(dataset.indices)
        indices = sub if indices is None else [sub[i] for i in indices]
        dataset = dataset.dataset
    return dataset, indices


def _is_hf(dataset: Any) -> bool:
    return hasattr(dataset, "features") and hasattr(dataset, "column_names") and hasattr(dataset, "with_format")


def _class_names(dataset: Any, fmt: ItemFormat) -> list[str] | None:
    base, _ = _base(dataset)
    if _is_hf(base):
        names = getattr(base.features.get(fmt.label_key), "names", None)
    else:
        names = getattr(base, "classes", None)
    return [str(n) for n in names] if isinstance(names, (list, tuple)) and names else None


def _raw_labels(dataset: Any, fmt: ItemFormat) -> list[Any]:
    """Every item's label, without decoding images where the dataset lists its labels."""
    base, indices = _base(dataset)
    values = None
    if _is_hf(base) and fmt.kind == "dict":
        values = list(base.with_format(None)[fmt.label_key])
    elif getattr(base, "targets", None) is not None:
        targets = base.targets
        values = targets.tolist() if isinstance(targets, (torch.Tensor, np.ndarray)) else list(targets)
    if values is None or (indices is None and len(values) != len(dataset)):
        return [fmt.split(dataset[i])[1] for i in range(len(dataset))]
    return values if indices is None else [values[i] for i in indices]


def plan_targets(
    counts: Sequence[int], target: Any, sampler: Sampler, present: Sequence[int] | None = None
) -> list[int]:
    """How many samples to add per class so that each reaches ``target``: "max", an int, or {class: count}.

    Only the ``present`` classes (default: all of the generator's) are topped up. A target below a class's real
    count is an error: no real sample is ever dropped.
    """
    names = sampler.class_names
    present = list(range(len(counts))) if present is None else list(present)
    goals = list(counts)
    if isinstance(target, str) and target == "max":
        for c in present:
            goals[c] = max(counts[i] for i in present)
    elif isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        for c in present:
            goals[c] = int(target)
    elif isinstance(target, Mapping):
        for key, value in target.items():
            c = sampler.class_index(key)
            if c not in present:
                raise GanaugError(f"target names class {names[c]!r}, which the data does not have")
            goals[c] = value
    else:
        raise GanaugError(f"target must be 'max', an integer or a {{class: count}} dict, got {target!r}")
    for name, have, goal in zip(names, counts, goals, strict=True):
        if isinstance(goal, bool) or not isinstance(goal, (int, np.integer)):
            raise GanaugError(f"target for class {name!r} must be an integer, got {goal!r}")
        if goal < have:
            raise GanaugError(
                f"target {goal} for class {name!r} is below its {have} real samples; no real sample is dropped, "
                f"so choose a target >= {have} (or 'max')"
            )
    return [int(goal) - int(have) for have, goal in zip(counts, goals, strict=True)]


DISTILL_NOTE = (
    "the model's recipe goes on top of distillation: pass each batch (x, y, is_synthetic) through "
    "ganaug.DistillMixUp(MODEL), which blends the real rows by mixup and labels them with the teacher, as evaluate "
    "trained"
)


class SyntheticMixDataset(Dataset):
    """A dataset of the real items followed by synthetic ones from a ganaug generator.

    By default it follows the model's recipe (``config.json`` ``recipe``, written by ``ganaug evaluate``): its ratio,
    given to the smallest classes first, its teacher filter, latent spread and labels, so the items are the ones
    ``evaluate`` trained on for the same seed; a recipe that says not to add samples adds none unless ``ratio`` or
    ``per_class`` asks. Without a recipe (or ``recipe="none"``), ``ratio`` (default 0.5) synthetic items per real
    item are spread over the classes in proportion to their real counts. ``per_class={class: count}`` sets the
    counts. ``set_epoch(e)`` moves to fresh synthetic items each epoch (``set_epoch(e, epochs)`` also follows the
    recipe's pools and its real-only final epochs). Soft labels (``soft_labels=True``, or a soft-label recipe) make
    every label a float class-probability vector in the generator's class order, the way torchvision's
    ``CutMix``/``MixUp`` return them. ``return_flag=True`` yields ``(x, y, is_synthetic)`` (dict items: an
    ``is_synthetic`` key); :func:`ganaug.downstream.recipe.mix_loss` weights synthetic items by the recipe's ``weight``.
    ``transform`` is applied to ``x`` of real and synthetic items alike.

    Example:
        >>> real = torchvision.datasets.ImageFolder("data/train")  # doctest: +SKIP
        >>> mixed = SyntheticMixDataset(real, "runs/data", ratio=0.5, transform=train_tf)  # doctest: +SKIP
        >>> len(mixed) == len(real) + mixed.n_synthetic  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Any,
        source: str | Path | Generator,
        ratio: float | None = None,
        *,
        per_class: Mapping[Any, int] | None = None,
        recipe: Any = "auto",
        soft_labels: bool | None = None,
        return_flag: bool = False,
        seed: int = 0,
        transform: Callable[[Any], Any] | None = None,
        truncation: float | None = None,
        device: str = "cpu",
        mean: Any = None,
        std: Any = None,
    ):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise GanaugError(f"the wrapped dataset must be map-style (__getitem__ and __len__), not {type(dataset)}")
        self.n_real = len(dataset)
        if self.n_real == 0:
            raise GanaugError("the wrapped dataset is empty; synthetic items take their type and size from real ones")
        self.dataset = dataset
        self.sampler = Sampler(source, seed=seed, truncation=truncation, device=device)
        self.recipe = model_recipe(self.sampler.generator, recipe)
        self.sampler.spread = self.recipe.spread if self.recipe else 1.0
        self.soft_labels = bool(self.recipe and self.recipe.labels == "soft") if soft_labels is None else soft_labels
        needs = Recipe(labels="soft") if self.soft_labels else self.recipe
        teacher = model_teacher(self.sampler.generator, needs)
        self.teacher = teacher
        self.filtered = FilteredItems(self.sampler, teacher, self.recipe) if self.recipe else None
        self.pool, self.note = 0, ""
        self.return_flag = return_flag
        self.transform = transform
        first = dataset[0]
        self.format = ItemFormat.of(first)
        x0, y0 = self.format.split(first)
        self.spec = F.describe(x0, mean, std)
        self._label_example = y0
        names = _class_names(dataset, self.format)
        known = names is not None and set(names) <= set(self.sampler.class_names)
        self._dataset_names = names if known else None
        all_classes = range(self.sampler.num_classes)
        self.classes = [self.sampler.class_index(n) for n in names] if known else list(all_classes)
        self.real_counts: dict[str, int] | None = None
        if per_class is not None:
            counts = [0] * self.sampler.num_classes
            for key, value in per_class.items():
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                    raise GanaugError(f"per_class count for {key!r} must be an integer >= 0, got {value!r}")
                c = self.sampler.class_index(key)
                if c not in self.classes:
                    raise GanaugError(f"per_class names class {key!r}, which the dataset does not have")
                counts[c] = int(value)
            self._set_plan(counts)
        else:
            if ratio is None and self.recipe is not None and not self.recipe.add:
                self.note = "the model's recipe says not to add synthetic samples (evaluate found no gain)"
                ratio = 0.0
            elif ratio is None:
                ratio = self.recipe.ratio if self.recipe else 0.5
                if self.recipe is not None and self.recipe.distill:
                    self.note = DISTILL_NOTE
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio >= 0:
                raise GanaugError(f"ratio must be a number >= 0 (synthetic items per real item), got {ratio!r}")
            counts = self._count_real()
            plan = synthetic_plan(counts, ratio) if self.recipe else _proportional(counts, round(ratio * self.n_real))
            self._set_plan(plan)
        self._full_plan = [self.added[n] for n in self.sampler.class_names]

    # -- labels -----------------------------------------------------------------------------------------------
    def _to_class(self, label: Any) -> int:
        """A real label -> the generator's class index."""
        if self._dataset_names is not None and not isinstance(label, str):
            index = operator.index(label.item() if hasattr(label, "item") else label)
            if 0 <= index < len(self._dataset_names):
                label = self._dataset_names[index]
        return self.sampler.class_index(label)

    def _from_class(self, c: int) -> Any:
        """The generator's class index -> a label of the same kind as the dataset's."""
        name = self.sampler.class_names[c]
        example = self._label_example
        if isinstance(example, str):
            return name
        value = self._dataset_names.index(name) if self._dataset_names is not None else c
        if isinstance(example, torch.Tensor):
            return torch.tensor(value, dtype=example.dtype).reshape(example.shape)
        if isinstance(example, (np.ndarray, np.generic)):
            return np.asarray(value, dtype=example.dtype).reshape(np.shape(example))[()]
        return value

    def _count_real(self) -> list[int]:
        counts = [0] * self.sampler.num_classes
        for label in _raw_labels(self.dataset, self.format):
            counts[self._to_class(label)] += 1
        self.real_counts = dict(zip(self.sampler.class_names, counts, strict=True))
        return counts

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Fresh synthetic items for ``epoch``: pool ``epoch`` (with ``epochs``, the recipe's ``refresh`` pools spread
        over the epochs, and no synthetic items in the recipe's real-only final epochs, as ``evaluate`` trains)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise GanaugError(f"epoch must be an integer >= 0, got {epoch!r}")
        plan = list(self._full_plan)
        if epochs is None:
            self.pool = int(epoch)
        else:
            if not isinstance(epochs, (int, np.integer)) or epochs < 1 or epoch >= epochs:
                raise GanaugError(f"epochs must be an integer > epoch ({epoch}), got {epochs!r}")
            refresh, finetune = (self.recipe.refresh, self.recipe.finetune) if self.recipe else (1, 0.0)
            mix_until = round(epochs * (1 - finetune))
            self.pool = min(refresh - 1, epoch * refresh // max(1, mix_until))
            if epoch >= mix_until:
                plan = [0] * len(plan)
        self._set_plan(plan)

    def synthetic_model_item(self, c: int, k: int) -> torch.Tensor:
        """Synthetic item ``k`` of class ``c`` in the current pool, in model space (C x H x W in [-1, 1])."""
        n = self._full_plan[c]
        if self.filtered is not None:
            return self.filtered.items(c, self.pool * n + k, 1)[0]
        return self.sampler.item(c, self.pool * n + k)

    def _soft(self, c: int | None, x_model: torch.Tensor | None) -> torch.Tensor:
        k = self.sampler.num_classes
        if (
            c is not None
            and x_model is not None
            and self.teacher is not None
            and (self.recipe is None or self.recipe.labels == "soft")
        ):
            temperature = self.recipe.temperature if self.recipe else 1.0
            return self.teacher.probabilities(x_model[None], temperature)[0]
        return torch.nn.functional.one_hot(torch.tensor(c), k).float()

    def _set_plan(self, counts: Sequence[int]) -> None:
        self.added = dict(zip(self.sampler.class_names, (int(n) for n in counts), strict=True))
        self._starts = list(np.cumsum([0, *counts])[:-1])
        self.n_synthetic = int(sum(counts))

    # -- items ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n_real + self.n_synthetic

    def locate(self, index: int) -> tuple[int, int] | None:
        """``None`` for a real item, else (class index, item number within the class) of a synthetic one."""
        if index < self.n_real:
            return None
        j = index - self.n_real
        c = bisect.bisect_right(self._starts, j) - 1  # classes without items share the next one's start
        return c, j - self._starts[c]

    def __getitem__(self, index: int) -> Any:
        index = operator.index(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} items")
        where = self.locate(index)
        if where is None:
            x, y = self.format.split(self.dataset[index])
            if self.soft_labels:
                y = self._soft(self._to_class(y), None)
        else:
            c, k = where
            item = self.synthetic_model_item(c, k)
            x = F.render(item, self.sampler.data, self.spec)
            y = self._soft(c, item) if self.soft_labels else self._from_class(c)
        if self.transform is not None:
            x = self.transform(x)
        return self.format.build(x, y, (where is not None) if self.return_flag else None)


class ClassBalancedDataset(SyntheticMixDataset):
    """Tops up every class to ``target`` ("max": the largest real count, an int, or ``{class: count}``, where
    classes left out stay as they are). ``.added`` holds the synthetic count per class, ``.real_counts`` the real one.
    The synthetic items follow the model's recipe (filter, spread, labels) as in :class:`SyntheticMixDataset`; a
    recipe that says not to add samples adds none unless ``target`` is given.

    The classes are the dataset's own where it names them (``dataset.classes``, a ``ClassLabel``), else the
    generator's.

    Example:
        >>> balanced = ClassBalancedDataset(real, "runs/breast", target="max")  # doctest: +SKIP
        >>> balanced.real_counts, balanced.added  # doctest: +SKIP
        ({'0': 147, '1': 399}, {'0': 252, '1': 0})
    """

    def __init__(
        self,
        dataset: Any,
        source: str | Path | Generator,
        target: str | int | Mapping[Any, int] | None = None,
        *,
        recipe: Any = "auto",
        soft_labels: bool | None = None,
        return_flag: bool = False,
        seed: int = 0,
        transform: Callable[[Any], Any] | None = None,
        truncation: float | None = None,
        device: str = "cpu",
        mean: Any = None,
        std: Any = None,
    ):
        options = {"truncation": truncation, "device": device, "mean": mean, "std": std, "transform": transform}
        super().__init__(dataset, source, per_class={}, return_flag=return_flag, seed=seed, recipe=recipe,
                         soft_labels=soft_labels, **options)  # fmt: skip
        counts = self._count_real()
        if target is None and self.recipe is not None and not self.recipe.add:
            self.note = "the model's recipe says not to add synthetic samples (evaluate found no gain)"
            self._set_plan([0] * len(counts))
        else:
            self._set_plan(plan_targets(counts, "max" if target is None else target, self.sampler, self.classes))
        self._full_plan = [self.added[n] for n in self.sampler.class_names]


class TransformedDataset(Dataset):
    """Applies a joint transform to each ``(x, y)`` (or dict) item, so label-aware transforms such as ``GANAugment``
    see the label, like the ``transforms=`` argument of some torchvision datasets. Extra tuple items pass through.

    Example:
        >>> tf = v2.Compose([GANAugment("runs/x"), v2.ToImage()])  # doctest: +SKIP
        >>> train = TransformedDataset(ImageFolder("data/train"), tf)  # doctest: +SKIP
    """

    def __init__(self, dataset: Any, transforms: Callable[..., Any]):
        self.dataset = dataset
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        if isinstance(item, Mapping):
            return self.transforms(item)
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise GanaugError(f"items of the wrapped dataset must be (x, y, ...) or dicts, got {type(item).__name__}")
        x, y = self.transforms(item[0], item[1])
        return (x, y, *item[2:])


def _proportional(counts: Sequence[int], total: int) -> list[int]:
    """Split ``total`` over classes in proportion to ``counts`` (largest remainders get the leftovers)."""
    n = sum(counts)
    if n == 0 or total == 0:
        return [0] * len(counts)
    exact = np.asarray(counts, dtype=np.float64) * total / n
    out = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - out), kind="stable")[: total - int(out.sum())]:
        out[i] += 1
    return out.tolist()
