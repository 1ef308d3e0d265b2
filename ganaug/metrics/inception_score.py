"""The Inception Score, IS = exp(E_x KL(p(y|x) || p(y))), with a pluggable classifier.

ImageNet weights cannot be assumed here, so the classifier is by default ganaug's own-data classifier (the
:class:`~ganaug.metrics.ClassifierExtractor` the quality metrics already train on the real training data): the score
then says how confidently and how evenly *that* classifier spreads the samples over the user's classes. It ranges
from 1 (every sample gets the same prediction) to the number of classes (confident predictions, classes balanced);
it says nothing about realism within a class and is not comparable with published ImageNet figures. Every result
names its classifier. The arithmetic is torchmetrics' ``InceptionScore`` fed with the classifier's logits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import GanaugError

DEFAULT_SPLITS = 10


class ScoreClassifier:
    """A named classifier for the Inception Score: ``name`` + ``logits(images) -> N x K``.

    Wraps any ``nn.Module`` (or callable) that maps model-space images (N x C x H x W in [-1, 1]) to class logits.

    Example:
        >>> from torch import nn
        >>> clf = ScoreClassifier(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), name="my-linear")
        >>> clf.logits(torch.zeros(3, 1, 8, 8)).shape
        torch.Size([3, 2])
    """

    def __init__(self, net: nn.Module | Callable[[torch.Tensor], torch.Tensor], name: str | None = None):
        self.net = net
        self.name = name or getattr(net, "name", None) or type(net).__name__

    @torch.no_grad()
    def logits(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        was_training = isinstance(self.net, nn.Module) and self.net.training
        if isinstance(self.net, nn.Module):
            self.net.eval()
        try:
            params = list(self.net.parameters()) if isinstance(self.net, nn.Module) else []
            device = params[0].device if params else torch.device("cpu")
            chunks = [self.net(c.to(device)).float().cpu() for c in images.split(batch_size)]
        finally:
            if was_training:
                self.net.train()
        return torch.cat(chunks) if chunks else torch.empty(0, 0)


def get_score_classifier(
    classifier: Any = "classifier",
    data=None,
    folder: str | Path | None = None,
    device: str = "auto",
    epochs: int = 30,
) -> Any:
    """The classifier an Inception Score is computed with: ``"classifier"`` (ganaug's own-data classifier, loaded from
    ``folder`` when trained on the same data, else trained on ``data``), an object with ``name`` and
    ``logits(images)`` (e.g. a :class:`~ganaug.metrics.ClassifierExtractor`), or an ``nn.Module`` returning logits."""
    if isinstance(classifier, str):
        if classifier not in ("auto", "classifier"):
            raise GanaugError(
                f"unknown Inception Score classifier {classifier!r}; use 'classifier' (trained on your data) or pass "
                "your own nn.Module that returns class logits"
            )
        from .extractor import get_extractor

        return get_extractor("classifier", data=data, folder=folder, device=device, epochs=epochs)
    if callable(getattr(classifier, "logits", None)) and getattr(classifier, "name", None):
        return classifier
    from .extractor import FeatureExtractor

    if isinstance(classifier, FeatureExtractor):
        raise GanaugError(
            f"the feature extractor {classifier.name!r} gives features, not class logits; the Inception Score needs a "
            "classifier of your classes ('classifier', or your own nn.Module)"
        )
    if isinstance(classifier, nn.Module) or callable(classifier):
        return ScoreClassifier(classifier)
    raise GanaugError(f"an Inception Score classifier needs logits(images) or to be an nn.Module, got {classifier!r}")


def inception_score_from_logits(
    logits: torch.Tensor, splits: int = DEFAULT_SPLITS, seed: int = 0
) -> tuple[float, float | None] | None:
    """Mean and std over ``splits`` random splits of exp(E_x KL(p(y|x) || p(y))) from N x K logits (torchmetrics).

    The splits are at most N // 2 (two samples each); the std is None with one split, the result None with fewer
    than 2 samples."""
    from torchmetrics.image.inception import InceptionScore

    from .quality import GivenFeatures

    n = len(logits)
    if n < 2:
        return None
    splits = max(1, min(splits, n // 2))
    with warnings.catch_warnings():  # "will save all extracted features"; the std of one split
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=GivenFeatures(logits.shape[1]), splits=splits)
        metric.update(logits.double())
        with torch.random.fork_rng(devices=[]):  # the splits are drawn from torch's global generator
            torch.manual_seed(seed)
            mean, std = metric.compute()
    std_value = float(std) if splits > 1 and math.isfinite(float(std)) else None
    return float(mean), std_value


def inception_score(
    images: torch.Tensor,
    classifier: Any = "classifier",
    *,
    data=None,
    folder: str | Path | None = None,
    splits: int = DEFAULT_SPLITS,
    seed: int = 0,
    device: str = "auto",
    epochs: int = 30,
) -> dict:
    """The Inception Score of model-space ``images`` with ``classifier`` (see :func:`get_score_classifier`).

    Returns ``{"inception_score", "inception_score_std", "classifier", "splits", "n"}``; ``classifier`` is the name
    of the classifier used, to be shown with the figure."""
    clf = get_score_classifier(classifier, data=data, folder=folder, device=device, epochs=epochs)
    return score_with(clf, images, splits=splits, seed=seed)


def score_with(clf: Any, images: torch.Tensor, splits: int = DEFAULT_SPLITS, seed: int = 0) -> dict:
    """:func:`inception_score` with a classifier already resolved."""
    result = inception_score_from_logits(clf.logits(images), splits=splits, seed=seed)
    mean, std = result if result else (None, None)
    used = max(1, min(splits, len(images) // 2))
    n = len(images)
    return {"inception_score": mean, "inception_score_std": std, "classifier": clf.name, "splits": used, "n": n}
