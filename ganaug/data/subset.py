"""Data regimes: a stratified fraction of a training set, or its minority classes cut to a fraction.

``ganaug fit --train-fraction 0.1`` trains the GAN on the same subset that ``ganaug evaluate --train-fraction 0.1``
trains its classifiers on: the indices depend only on the labels, the fractions and the seed.

Example:
    >>> import torch
    >>> y = torch.tensor([0] * 40 + [1] * 10)
    >>> keep = subset_indices(y, minority_fraction=0.2, names=["a", "b"])
    >>> torch.bincount(y[keep]).tolist()
    [40, 2]
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import GanaugError

__all__ = ["carve_validation", "check_fraction", "describe_subset", "subset_indices"]


def check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise GanaugError(f"{name}={value!r} is not accepted; give a fraction in (0, 1] (1 keeps everything)")
    return float(value)


def subset_indices(
    labels: torch.Tensor,
    *,
    train_fraction: float = 1.0,
    minority_fraction: float = 1.0,
    seed: int = 0,
    names: list[str] | None = None,
) -> np.ndarray:
    """Sorted indices of the kept samples: ``train_fraction`` of every class, then ``minority_fraction`` of every class
    but the largest (rounded, at least one each). A class that would keep no sample, or had none, is an error that
    names it. Both fractions 1 keep every index."""
    train_fraction = check_fraction("train_fraction", train_fraction)
    minority_fraction = check_fraction("minority_fraction", minority_fraction)
    y = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if train_fraction == 1 and minority_fraction == 1:
        return np.arange(len(y))
    counts = np.bincount(y, minlength=len(names) if names else 0)
    largest = int(np.argmax(counts))
    rng = np.random.default_rng(seed)
    keep = []
    for c, n in enumerate(counts.tolist()):
        name = names[c] if names and c < len(names) else str(c)
        if n == 0:
            raise GanaugError(f"class {name!r} has no sample in DATA; a data regime needs every class present")
        frac = train_fraction * (1.0 if c == largest else minority_fraction)
        k = round(n * frac)
        if k < 1:
            need = math.ceil(0.5 / frac)
            raise GanaugError(
                f"class {name!r} has {n} sample(s); a fraction of {frac:g} keeps none of them (it needs at least "
                f"{need}). Raise --train-fraction/--minority-fraction or add samples"
            )
        idx = np.flatnonzero(y == c)
        keep += rng.permutation(idx)[:k].tolist()
    return np.sort(np.array(keep, dtype=np.int64))


VAL_HINT = "Add samples, raise --val-fraction, or pass a validation set with --val"


def carve_validation(
    y: torch.Tensor, fraction: float, names: list[str], seed: int = 0, hint: str = VAL_HINT
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices, the same for the same labels, fraction and seed (``ganaug fit
    --holdout`` and ``ganaug evaluate`` carve alike); a class too small for the split is a clear error ending with
    ``hint``."""
    if not 0 < fraction < 1:
        raise GanaugError(f"val_fraction must be between 0 and 1, got {fraction}")
    need = max(2, math.ceil(1 / fraction))
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in torch.unique(y).tolist():
        idx = np.flatnonzero(y.numpy() == c)
        if len(idx) < need:
            raise GanaugError(
                f"class {names[c]!r} has {len(idx)} sample(s) in DATA; a {fraction:.0%} validation split needs at "
                f"least {need} per class (at least one for validation, the rest for training). {hint}"
            )
        idx = rng.permutation(idx)
        k = max(1, round(len(idx) * fraction))
        val += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.sort(train), np.sort(val)


def describe_subset(train_fraction: float, minority_fraction: float) -> str:
    """``full``, ``small (10%)``, ``imbalanced (minority 10%)`` or both, for notes and cards."""
    parts = []
    if train_fraction < 1:
        parts.append(f"small ({train_fraction:.0%} of every class)")
    if minority_fraction < 1:
        parts.append(f"imbalanced (classes but the largest cut to {minority_fraction:.0%})")
    return " + ".join(parts) or "full"
