"""Option checks and the per-sample step shared by the torchvision and albumentations ``GANAugment``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import GanaugError
from ..sampling import Sampler

MODES = ("replace", "mix")


def check_options(p: Any, mode: str, mix_weight: Any) -> tuple[float, tuple[float, float]]:
    """Validate ``p`` (in [0, 1]), ``mode`` and ``mix_weight`` (a (low, high) range in [0, 1]); returns them cleaned."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0 or math.isnan(p):
        raise GanaugError(f"p must be a probability in [0, 1], got {p!r}")
    if mode not in MODES:
        raise GanaugError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    try:
        low, high = (float(v) for v in mix_weight)
    except (TypeError, ValueError):
        raise GanaugError(f"mix_weight must be a (low, high) pair, got {mix_weight!r}") from None
    if not 0.0 <= low <= high <= 1.0:
        raise GanaugError(f"mix_weight must satisfy 0 <= low <= high <= 1, got {mix_weight!r}")
    return float(p), (low, high)


def class_filter(sampler: Sampler, classes: Iterable[Any] | None) -> frozenset[int] | None:
    """The class indices to augment (``None``: all); unknown classes are a GanaugError."""
    if classes is None:
        return None
    if isinstance(classes, (str, int)):
        classes = [classes]
    return frozenset(sampler.class_index(c) for c in classes)


def missing_label_error(how: str) -> GanaugError:
    return GanaugError(
        f"GANAugment needs each sample's class label to generate a sample of the same class: {how}. "
        "Only a generator with a single class works without labels"
    )
