"""Sample-quality figures from features: FID and KID (torchmetrics), precision / recall / density / coverage
(``prdc``, else torch-fidelity's precision / recall), per-class FID, and the classifier accuracy score."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
import torch
from torch import nn


class GivenFeatures(nn.Module):
    """An identity "network" so torchmetrics' FID/KID take features that were extracted once."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def fid(real: torch.Tensor, fake: torch.Tensor) -> float | None:
    """Frechet distance between two feature sets (torchmetrics); None with fewer than 2 samples on a side."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    if len(real) < 2 or len(fake) < 2:
        return None
    metric = FrechetInceptionDistance(feature=GivenFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return _clean(float(metric.compute()))


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = 50, seed: int = 0) -> tuple[float, float] | None:
    """Kernel inception distance (mean, std over subsets) between two feature sets (torchmetrics)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(1000, len(real), len(fake))
    if size < 2:
        return None
    with warnings.catch_warnings():  # "will save all extracted features": they are given, already in memory
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=GivenFeatures(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    state = torch.get_rng_state()
    torch.manual_seed(seed)  # KID draws its subsets from torch's global generator
    try:
        mean, std = metric.compute()
    finally:
        torch.set_rng_state(state)
    return float(mean), float(std)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> dict[str, float]:
    """Precision and recall (Kynkäänniemi et al.), density and coverage (Naeem et al.) with k nearest neighbours."""
    k = max(1, min(k, len(real) - 1, len(fake) - 1))
    if len(real) < 2 or len(fake) < 2:
        return {}
    try:
        from prdc import compute_prdc
    except ImportError:  # torch-fidelity gives precision and recall only
        from torch_fidelity.metric_prc import calculate_precision_recall_full

        p, r = calculate_precision_recall_full(fake.float(), real.float(), k, 10000)
        return {"precision": float(p), "recall": float(r)}
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
        out = compute_prdc(real.numpy().astype(np.float32), fake.numpy().astype(np.float32), nearest_k=k)
    return {key: float(value) for key, value in out.items()}


def per_class_fid(
    real: torch.Tensor, real_y: torch.Tensor, fake: torch.Tensor, fake_y: torch.Tensor, names: list[str]
) -> dict[str, float | None]:
    """FID within each class (None where a class has fewer than 2 samples on a side)."""
    return {name: fid(real[real_y == c], fake[fake_y == c]) for c, name in enumerate(names)}


CAS_STEPS = 300
CAS_PER_CLASS = 128


def classifier_accuracy_score(
    fake_x: torch.Tensor,
    fake_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    num_classes: int,
    epochs: int = 30,
    seed: int = 0,
    device: str = "auto",
    steps: int = CAS_STEPS,
) -> dict[str, float]:
    """Train the small classifier on synthetic samples only, test it on real ones: accuracy and balanced accuracy.

    The classifier trains as ``evaluate``'s arms do (``steps`` updates, whole-pixel shifts) on class-balanced batches,
    so that the score measures how well the samples carry their class, not how imbalanced the set was."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from ..downstream.classifier import (
        SmallResNet,
        predict_proba,
        resolve_device,
        seed_everything,
        shift_augment,
        train_classifier,
    )

    with torch.random.fork_rng(devices=[]):
        seed_everything(seed)
        c, h, w = fake_x.shape[1:]
        net = SmallResNet(c, num_classes, h, w).to(memory_format=torch.channels_last)
        net = train_classifier(net, fake_x, fake_y, epochs=epochs, seed=seed, device=resolve_device(device),
                               steps=steps, augment=shift_augment, balanced=True)  # fmt: skip
    pred = predict_proba(net, test_x).argmax(1)
    truth = test_y.numpy()
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, pred)),
    }
