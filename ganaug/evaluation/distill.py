"""Distillation for training batches: the real part of a recipe that goes "on top of distillation".

``ganaug evaluate``'s strongest control on imbalanced data is often distillation: real images blended in pairs by
mixup and labelled by the teacher (the real-data classifier exported beside the generator). A recipe with
``distill`` adds the generator's samples on top of it. :class:`DistillMixUp` is that step for a user's batches: the
function ``evaluate`` trains with (:func:`ganaug.downstream.classifier.mix_pairs`, then the teacher's probabilities),
applied after the DataLoader the way torchvision's ``MixUp`` is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..downstream.classifier import mix_pairs
from ..errors import GanaugError

MIXUP_ALPHA = 1.0  # Beta(1, 1): a uniform blend weight, as evaluate's distillation arms use


def to_model_space(x: torch.Tensor, data: Any, spec: Any) -> torch.Tensor:
    """A user's N x C x H x W batch whose values map as ``spec`` says (see :func:`batch_spec`) -> the generator's
    model space at its data's size and channels (what its teacher reads)."""
    from ..translation.translator import to_unit, unit_to_model

    unit = to_unit(x, spec)  # N x H x W x C
    if unit.shape[1:3] != (data.height, data.width):
        t = torch.nn.functional.interpolate(torch.from_numpy(unit).permute(0, 3, 1, 2), size=(data.height, data.width),
                                            mode="bilinear", align_corners=False, antialias=True)  # fmt: skip
        unit = t.permute(0, 2, 3, 1).contiguous().numpy()
    return unit_to_model(unit, data).clamp_(-1, 1)


def batch_spec(x: Any, mean: Any = None, std: Any = None):
    """How a user's N x C x H x W batch maps to unit values: uint8/uint16 by their full scale; float by ``mean`` and
    ``std`` (those of ``Normalize``), or detected from its values ([0, 1] or [-1, 1])."""
    from ..transforms.functional import describe

    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise GanaugError(f"a batch must be an N x C x H x W tensor, got {getattr(x, 'shape', type(x))}")
    return describe(x, mean, std)


class DistillMixUp:
    """Distil a training batch with the model's teacher: real rows blended in pairs by mixup and labelled by the
    teacher's class probabilities (at the recipe's temperature); synthetic rows (``is_synthetic``) keep their labels.
    Returns the batch and float N x K targets in the generator's class order (as ``SyntheticMixDataset``'s soft
    labels), for :func:`ganaug.downstream.recipe.mix_loss` or ``nn.CrossEntropyLoss``.

    ``mean``/``std`` are those of your ``Normalize`` (so the teacher sees the images as the generator's data);
    ``seed`` gives a private stream (default: torch's global generator, as torchvision's ``MixUp``).

    Example:
        >>> mix = DistillMixUp("runs/retina", mean=0.5, std=0.5)  # doctest: +SKIP
        >>> for x, y, flag in loader:  # SyntheticMixDataset(..., return_flag=True)  # doctest: +SKIP
        ...     x, y = mix(x, y, flag)
        ...     loss = mix_loss(net(x), y, flag, weight=mixed.recipe.weight)
    """

    def __init__(
        self,
        source: str | Path | Any,
        *,
        alpha: float = MIXUP_ALPHA,
        temperature: float | None = None,
        mean: Any = None,
        std: Any = None,
        seed: int | None = None,
    ):
        from ..downstream.recipe import model_recipe
        from ..downstream.teacher import Teacher, require_teacher
        from ..hub.sources import load_generator

        if not alpha > 0:
            raise GanaugError(f"alpha must be > 0 (the Beta(alpha, alpha) of mixup), got {alpha!r}")
        self.generator = load_generator(source)
        folder = self.generator.folder
        self.teacher = require_teacher(
            Teacher.load(folder) if folder else None, "distillation", self.generator.source or "this generator"
        )
        recipe = model_recipe(self.generator, "auto")
        self.temperature = float(temperature if temperature is not None else recipe.temperature if recipe else 1.0)
        if not self.temperature > 0:
            raise GanaugError(f"temperature must be > 0, got {self.temperature!r}")
        self.alpha, self.mean, self.std = float(alpha), mean, std
        self.gen = torch.Generator().manual_seed(seed) if seed is not None else None

    @property
    def num_classes(self) -> int:
        return self.teacher.num_classes

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """Labels as N x K float probabilities (class indices become one-hot rows)."""
        k = self.num_classes
        if y.ndim == 2 and y.shape[1] == k and y.is_floating_point():
            return y.float()
        if y.ndim == 1 and not y.is_floating_point():
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
                raise GanaugError(f"labels must be class indices in 0..{k - 1}, got {y.min()}..{y.max()}")
            return torch.nn.functional.one_hot(y.long(), k).float()
        raise GanaugError(f"labels must be N class indices or N x {k} probabilities, got shape {tuple(y.shape)}")

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, is_synthetic: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        targets = self.targets(y)
        if len(targets) != len(x):
            raise GanaugError(f"{len(x)} images but {len(targets)} labels in the batch")
        real = torch.ones(len(x), dtype=torch.bool) if is_synthetic is None else ~is_synthetic.bool().cpu()
        if int(real.sum()) < 1:
            return x, targets
        idx = torch.nonzero(real).flatten()
        spec = batch_spec(x, self.mean, self.std)
        rows = idx.to(x.device)
        mixed, _ = mix_pairs(x[rows].float(), targets[idx], self.alpha, self.gen)
        soft = self.teacher.probabilities(to_model_space(mixed, self.generator.data, spec), self.temperature)
        out_x = x.clone()
        out_x[rows] = mixed.to(x.dtype) if x.is_floating_point() else mixed.round().clamp(0, spec.gain[0]).to(x.dtype)
        targets = targets.clone()
        targets[idx.to(targets.device)] = soft.to(targets.device)
        return out_x, targets
