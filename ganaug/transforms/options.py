"""Option checks and the per-sample rules shared by the torchvision and albumentations transforms.

- Errors for bad values are ``GanaugValueError`` (a ``ValueError``), for unsupported types ``GanaugTypeError``.
- A synthetic image has no mask, boxes or keypoints to match: a sample carrying them is refused unless the user
  passes ``annotations="pass"`` (they are then returned unchanged, on the user's responsibility).
- Each synthetic image is the sample of a recorded ``(class, seed)`` pair (``Sampler.seeded``); the seeds are drawn
  from the library's random state. ``SeedPool`` serves each class's pool of seeds ``reuse`` times.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import GanaugError, GanaugValueError
from ..generation.sampling import Sampler, worker_id

MODES = ("replace", "mix")
ANNOTATIONS = ("error", "pass")
SEED_HIGH = 2**63 - 1  # latent seeds are drawn in [0, SEED_HIGH)


def check_probability(p: Any) -> float:
    """``p`` as a float in [0, 1], or a GanaugValueError."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p) or not 0.0 <= p <= 1.0:
        raise GanaugValueError(f"p must be a probability in [0, 1], got {p!r}")
    return float(p)


def check_annotations(value: Any) -> str:
    if value not in ANNOTATIONS:
        raise GanaugValueError(f"annotations must be one of {', '.join(map(repr, ANNOTATIONS))}, got {value!r}")
    return value


def check_options(p: Any, mode: str, mix_weight: Any) -> tuple[float, tuple[float, float]]:
    """Validate ``p`` (in [0, 1]), ``mode`` and ``mix_weight`` (a (low, high) range in [0, 1]); returns them cleaned."""
    p = check_probability(p)
    if mode not in MODES:
        raise GanaugValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    try:
        low, high = (float(v) for v in mix_weight)
    except (TypeError, ValueError):
        raise GanaugValueError(f"mix_weight must be a (low, high) pair, got {mix_weight!r}") from None
    if not 0.0 <= low <= high <= 1.0:
        raise GanaugValueError(f"mix_weight must satisfy 0 <= low <= high <= 1, got {mix_weight!r}")
    return p, (low, high)


def class_of(sampler: Sampler, label: Any) -> int:
    """The class index of ``label``; an unknown or malformed label is a GanaugValueError."""
    try:
        return sampler.class_index(label)
    except GanaugValueError:
        raise
    except GanaugError as e:
        raise GanaugValueError(str(e)) from None


def class_filter(sampler: Sampler, classes: Iterable[Any] | None) -> frozenset[int] | None:
    """The class indices to augment (``None``: all); unknown classes are a GanaugValueError."""
    if classes is None:
        return None
    if isinstance(classes, (str, int)):
        classes = [classes]
    return frozenset(class_of(sampler, c) for c in classes)


def missing_label_error(how: str) -> GanaugValueError:
    return GanaugValueError(
        f"GANAugment needs each sample's class label to generate a sample of the same class: {how}. "
        "Only a generator with a single class works without labels"
    )


def annotations_error(name: str, kinds: Iterable[str], library: str) -> GanaugValueError:
    """The error for a sample that carries masks, boxes or keypoints (``kinds``), in ``library``'s terms."""
    found = ", ".join(sorted(set(kinds)))
    what = (
        "a generator makes an image only, so they would no longer match it"
        if name == "GANAugment"
        else "a translation may move or change what they mark"
    )
    pass_it = f"{name}(..., annotations='pass')"
    where = "a torchvision sample" if library == "torchvision" else "the albumentations data"
    return GanaugValueError(
        f"{name} got {where} with {found}: {what}. Drop them from the pipeline's input, or pass {pass_it} to keep "
        "them unchanged (they then describe the original image, not the new one)"
    )


class SeedPool:
    """``reuse=R``: per class, ``size`` seeds served ``R`` times, in a new order each pass, before new ones are drawn.

    Seeds and orders come from the callables given (the library's random state); the pool is per process and
    DataLoader worker. A pool's samples are generated in one batch (``Sampler.seeded``) when it is drawn.
    """

    def __init__(self, size: int, reuse: int):
        self.size, self.reuse = size, reuse
        self._owner: tuple[int, int] | None = None
        self._pools: dict[int, tuple[list[int], int, int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size, "reuse": self.reuse, "_owner": None, "_pools": {}}

    def next(
        self, c: int, draw_seeds: Callable[[int], list[int]], permutation: Callable[[int], list[int]], sampler: Sampler
    ) -> int:
        owner = (os.getpid(), worker_id())
        if owner != self._owner:
            self._owner, self._pools = owner, {}
        seeds, pos, passes = self._pools.get(c, ([], 0, 0))
        if pos >= len(seeds):
            if seeds and passes < self.reuse:
                seeds, pos, passes = [seeds[i] for i in permutation(len(seeds))], 0, passes + 1
            else:
                seeds, pos, passes = draw_seeds(self.size), 0, 1
                sampler.seeded([c] * len(seeds), seeds)  # one batch for the whole pool
        self._pools[c] = (seeds, pos + 1, passes)
        return seeds[pos]
