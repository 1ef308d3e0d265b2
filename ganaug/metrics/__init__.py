"""Quality metrics of a generator, reused by ``fit --eval-every``, ``ganaug evaluate``, the report and the card.

Example:
    >>> from ganaug.data import read_data
    >>> test = read_data("breast.npz", split="test")  # doctest: +SKIP
    >>> q = measure_quality("runs/breast", read_data("breast.npz"), heldout=test)  # doctest: +SKIP
    >>> q["extractor"], q["fid"], q["precision"], q["memorisation"]["suspected_copies"]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import GanaugError
from .extractor import ClassifierExtractor, FeatureExtractor, InceptionExtractor, get_extractor
from .inception_score import ScoreClassifier, get_score_classifier, inception_score, inception_score_from_logits
from .memorisation import memorisation, save_pairs
from .quality import CAS_PER_CLASS, classifier_accuracy_score, fid, kid, per_class_fid, precision_recall

__all__ = [
    "ClassifierExtractor",
    "FeatureExtractor",
    "InceptionExtractor",
    "ScoreClassifier",
    "card_metrics",
    "classifier_accuracy_score",
    "fid",
    "get_extractor",
    "get_score_classifier",
    "inception_score",
    "inception_score_from_logits",
    "kid",
    "labels_for",
    "measure_quality",
    "memorisation",
    "per_class_fid",
    "precision_recall",
]

CARD_KEYS = ("fid", "kid", "precision", "recall", "density", "coverage", "inception_score")


def labels_for(data, class_names: list[str], what: str = "DATA") -> torch.Tensor:
    """``data``'s labels as indices into ``class_names`` (matched by name); a class not there is a clear error."""
    names = [str(n) for n in (data.config.class_names or ["0"])]
    unknown = sorted(set(names[int(i)] for i in data.labels.unique()) - set(class_names))
    if unknown:
        raise GanaugError(
            f"{what} has class(es) {', '.join(map(repr, unknown))} that the model does not know; "
            f"the model's classes are: {', '.join(class_names)}"
        )
    lookup = torch.tensor([class_names.index(n) if n in class_names else -1 for n in names])
    return lookup[data.labels]


def synthetic_like(
    generator, labels: torch.Tensor, seed: int = 0, minimum: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic samples with the class counts of ``labels`` (at least ``minimum`` per class present)."""
    counts = torch.bincount(labels, minlength=generator.num_classes)
    want = torch.where(counts > 0, counts.clamp(min=minimum), counts)
    y = torch.repeat_interleave(torch.arange(generator.num_classes), want)
    return generator.generate(y.tolist(), seed=seed), y


def measure_quality(
    model: Any,
    real,
    *,
    heldout=None,
    extractor: str | FeatureExtractor = "auto",
    folder: str | Path | None = None,
    seed: int = 0,
    cas: bool = True,
    epochs: int = 30,
    device: str = "auto",
    pairs_path: str | Path | None = None,
    is_classifier: Any = "auto",
) -> dict:
    """FID, KID, precision/recall/density/coverage, per-class FID, classifier accuracy score (train on synthetic, test
    on real) and the memorisation check of ``model`` against real data (:class:`~ganaug.data.LabelledData`).

    The reference set is ``heldout`` when given (else ``real``); synthetic samples follow its class counts. The
    classifier extractor trains on ``real`` and is kept in ``folder``. Every figure is reported with the extractor's
    name; ``pairs_path`` writes the memorisation check's closest pairs as a PNG.

    The Inception Score (:mod:`ganaug.metrics.inception_score`) of the synthetic samples and, for scale, of the
    reference images is computed with ``is_classifier``: ``"auto"`` is the classifier extractor itself (or, when the
    extractor is InceptionV3, ganaug's own-data classifier), else anything :func:`get_score_classifier` takes; its
    name is ``inception_score_classifier``.
    """
    from ..hub.sources import load_generator

    g = load_generator(model)
    names = g.class_names
    real_y = labels_for(real, names, "DATA")
    train = type(real)(real.images, real_y, g.data)
    ref = heldout if heldout is not None else real
    ref_y = labels_for(ref, names, "the held-out data") if heldout is not None else real_y
    ex = get_extractor(extractor, data=train, folder=folder, device=device, epochs=epochs)
    fake_x, fake_y = synthetic_like(g, ref_y, seed=seed)
    f_ref, f_fake = ex(ref.images), ex(fake_x)
    out: dict[str, Any] = {
        "extractor": ex.name,
        "reference": "held-out" if heldout is not None else "train",
        "n_real": int(len(ref_y)),
        "n_synthetic": int(len(fake_y)),
        "fid": fid(f_ref, f_fake),
    }
    k = kid(f_ref, f_fake, seed=seed)
    out["kid"], out["kid_std"] = k if k else (None, None)
    out.update(precision_recall(f_ref, f_fake))
    out["extractor_balanced_accuracy"] = _extractor_accuracy(ex, ref.images, ref_y)
    out["per_class_fid"] = per_class_fid(f_ref, ref_y, f_fake, fake_y, names)
    out.update(_inception_scores(is_classifier, ex, fake_x, ref.images, train, folder, device, epochs, seed))
    if cas:  # on class-balanced samples (at least CAS_PER_CLASS of every class the reference holds)
        present = torch.unique(ref_y)
        per_class = max(CAS_PER_CLASS, int(torch.bincount(ref_y).max()))
        cas_y = present.repeat_interleave(per_class)
        cas_x = g.generate(cas_y.tolist(), seed=seed + 1)
        out["cas"] = classifier_accuracy_score(
            cas_x, cas_y, ref.images, ref_y, g.num_classes, epochs=epochs, seed=seed, device=device
        )
    if heldout is not None:
        report, pairs = memorisation(fake_x, real.images, heldout.images)
        out["memorisation"] = report
        if pairs_path is not None:
            save_pairs(pairs, pairs_path)
            out["memorisation"]["pairs_image"] = Path(pairs_path).name
    return out


def _inception_scores(classifier, ex, fake_x, ref_x, train, folder, device, epochs, seed) -> dict:
    """``measure_quality``'s Inception Score entries: synthetic and reference, with the classifier's name."""
    from .inception_score import get_score_classifier, score_with

    if classifier == "auto":
        classifier = ex if isinstance(ex, ClassifierExtractor) else "classifier"
    clf = get_score_classifier(classifier, data=train, folder=folder, device=device, epochs=epochs)
    fake, real = score_with(clf, fake_x, seed=seed), score_with(clf, ref_x, seed=seed)
    return {
        "inception_score": fake["inception_score"],
        "inception_score_std": fake["inception_score_std"],
        "inception_score_real": real["inception_score"],
        "inception_score_real_std": real["inception_score_std"],
        "inception_score_splits": fake["splits"],
        "inception_score_classifier": clf.name,
    }


def card_metrics(quality: dict) -> dict:
    """The model card's entry for a :func:`measure_quality` result: one group named after the extractor (the
    Inception Score in a group of its own when its classifier is not the extractor)."""
    values = {k: round(float(quality[k]), 6) for k in CARD_KEYS if isinstance(quality.get(k), (int, float))}
    if "memorisation" in quality:
        values["memorization"] = round(float(quality["memorisation"]["suspected_fraction"]), 6)
    out = {f"quality[{quality['extractor']}]": values}
    clf = quality.get("inception_score_classifier")
    if clf and clf != quality["extractor"] and "inception_score" in values:
        out[f"quality[{clf}]"] = {"inception_score": values.pop("inception_score")}
    return out


def _extractor_accuracy(ex, images: torch.Tensor, labels: torch.Tensor) -> float | None:
    """How well a classifier extractor tells the reference's classes apart (balanced accuracy): precision, recall,
    density and coverage are measured in its feature space, so a weak one makes them weak figures. None for an
    extractor without class logits (InceptionV3)."""
    if not hasattr(ex, "logits"):
        return None
    from ..downstream.uplift import scores

    if len(labels) < 2:
        return None
    proba = torch.softmax(ex.logits(images), 1).numpy()
    return round(float(scores(labels.numpy(), proba)["balanced_accuracy"]), 4)
