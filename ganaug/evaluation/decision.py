"""What ``ganaug evaluate`` may conclude: when its recipe adds synthetic samples, why not, and what its verdict must
add when the samples carry no class.

Example:
    >>> adds_samples({"mean": 0.03, "low": 0.01, "high": 0.05}, seeds=5)
    True
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..downstream.uplift import MIN_SEEDS

__all__ = ["adds_samples", "cas_caveat", "validation_seen", "why_not_added"]


def validation_seen(
    holdout: float,
    y_all: torch.Tensor,
    y_tr: torch.Tensor,
    fit_counts: list[int],
    notes: list[str],
    warn: Callable[[str], object],
) -> bool:
    """Whether the validation carved from DATA holds samples the generator trained on, judged by class counts: the
    fit's training counts equal to DATA's (no ``--holdout``) or to DATA's minus the carve (``--holdout``). A note
    says what validation is; DATA other than the generator's own cannot be judged and is left alone."""
    count = lambda y: torch.bincount(y, minlength=len(fit_counts)).tolist()  # noqa: E731
    if not fit_counts:
        return False
    if holdout:
        if count(y_tr) == fit_counts:
            notes.append(f"validation: the {len(y_all) - len(y_tr)} samples the fit held out (--holdout {holdout:g}), "
                         "which the generator never saw")  # fmt: skip
            return False
        notes.append(f"the model was fitted with --holdout {holdout:g}, but DATA's carve does not give its training "
                     f"class counts ({count(y_tr)} here, {fit_counts} in the fit): is DATA the fit's own?")  # fmt: skip
        warn(f"warning: {notes[-1]}")
        return False
    if count(y_all) != fit_counts:
        return False
    notes.append(
        "validation was carved from the samples the generator was trained on, so its samples can resemble the "
        "validation samples and flatter every ganaug recipe there: the recipe adds no synthetic samples on this "
        "evidence. Fit with --holdout 0.2 (evaluate then validates on the held-out samples) or give --val"
    )
    warn(f"warning: {notes[-1]}")
    return True


def adds_samples(val_gain: dict, seeds: int) -> bool:
    """Whether the recipe adds synthetic samples: only when validation shows a measurable gain over the strongest
    control there (the paired interval over at least :data:`MIN_SEEDS` seeds above zero). With 7-8 candidates and a
    validation split of about a hundred images, the best candidate's mean is above the control's by chance alone
    about as often as not; a mean above zero deployed recipes that then scored below the control on test."""
    low = val_gain.get("low")
    return seeds >= MIN_SEEDS and low is not None and low > 0


def why_not_added(val_gain: dict, seeds: int, seen: bool = False) -> str:
    """Why the recipe adds nothing; ``seen``: validation was carved from the generator's own training samples."""
    if seeds < MIN_SEEDS:
        return f"{seeds} seed(s) cannot show a gain (at least {MIN_SEEDS} are needed)"
    where = "validation was carved from the generator's own training samples"
    fix = "fit with --holdout 0.2, or give --val"
    if seen and adds_samples(val_gain, seeds):
        return f"{where}, which flatters its samples there ({fix})"
    if val_gain.get("mean") is not None and val_gain["mean"] > 0:
        text = "the interval includes zero: no measurable gain on validation"
    else:
        text = "no gain on validation"
    return f"{text}, even though {where} ({fix})" if seen else text


def cas_caveat(quality: dict, num_classes: int, verdict_text: str) -> str | None:
    """What the verdict must say when a classifier trained on the synthetic samples alone is at chance (balanced
    accuracy within 0.05 of 1/K): the samples carry no class, so any gain is regularisation, not their content. When
    the same kind of classifier trained on the real data (the quality extractor) is at chance too, CAS cannot tell
    either way, and the caveat says that instead."""
    cas = (quality.get("cas") or {}).get("balanced_accuracy")
    chance = 1.0 / max(1, num_classes)
    if cas is None or cas > chance + 0.05:
        return None
    real = quality.get("extractor_balanced_accuracy")
    if real is not None and real <= chance + 0.05:
        return (
            f"a classifier trained on the synthetic samples alone is near chance (CAS {cas:.3f}, chance {chance:.3f}), "
            f"but so is one trained on the real training data (the extractor, {real:.3f}): on this data a classifier "
            "trained without help does not separate the classes, so CAS cannot tell whether the samples carry them"
        )
    why = f"a classifier trained on the synthetic samples alone is at chance (CAS {cas:.3f}, chance {chance:.3f})"
    if verdict_text == "helps":
        return f"{why}: the gain comes from their regularising effect, not from classes they carry"
    return f"{why}: the samples do not carry their classes"
