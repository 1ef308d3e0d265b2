"""Statistics of ``ganaug evaluate``: per-arm scores, 95% intervals over seeds, paired uplifts, verdicts, tables."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "auc")
METRIC_TITLES = {"accuracy": "accuracy", "balanced_accuracy": "balanced acc.", "macro_f1": "macro-F1", "auc": "AUC"}
PRIMARY = "balanced_accuracy"
HELPS, NO_EFFECT, HURTS = "helps", "no measurable effect", "hurts"


def scores(truth: np.ndarray, proba: np.ndarray) -> dict[str, float | None]:
    """Accuracy, balanced accuracy, macro-F1 (over the classes in ``truth``) and AUC (one-vs-rest, macro over the
    classes in ``truth`` that have positives and negatives; None where no class has both)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

    pred = proba.argmax(1)
    present = np.unique(truth)
    aucs = []
    for c in present:
        positive = truth == c
        if 0 < positive.sum() < len(truth):
            aucs.append(roc_auc_score(positive, proba[:, c]))
    return {
        "accuracy": float(accuracy_score(truth, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, pred)),
        "macro_f1": float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)),
        "auc": float(np.mean(aucs)) if aucs else None,
    }


def interval(values: Sequence[float | None], level: float = 0.95) -> dict:
    """Mean and Student-t interval over seeds: ``{"mean", "low", "high", "std", "n"}`` (no interval for n < 2).

    Example:
        >>> interval([0.8, 0.82, 0.84])["mean"]
        0.82
    """
    from scipy import stats

    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return {"mean": None, "low": None, "high": None, "std": None, "n": 0}
    mean = float(v.mean())
    if len(v) < 2:
        return {"mean": round(mean, 6), "low": None, "high": None, "std": None, "n": 1}
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1)) * std / math.sqrt(len(v))
    return {"mean": round(mean, 6), "low": round(mean - half, 6), "high": round(mean + half, 6), "std": round(std, 6),
            "n": int(len(v))}  # fmt: skip


def paired_uplift(arm: Sequence[float | None], control: Sequence[float | None]) -> dict:
    """Interval of the per-seed differences arm - control (seeds pair: same initial weights and data order)."""
    diffs = [a - c for a, c in zip(arm, control, strict=True) if a is not None and c is not None]
    return interval(diffs)


def verdict(uplift: dict) -> str:
    """``helps`` when the whole interval is above zero, ``hurts`` when below, else ``no measurable effect``."""
    low, high = uplift.get("low"), uplift.get("high")
    if low is None or high is None:
        return NO_EFFECT
    if low > 0:
        return HELPS
    if high < 0:
        return HURTS
    return NO_EFFECT


def fmt(iv: dict, signed: bool = False) -> str:
    if iv.get("mean") is None:
        return "—"
    spec = "+.3f" if signed else ".3f"
    if iv.get("low") is None:
        return f"{iv['mean']:{spec}}"
    return f"{iv['mean']:{spec}} [{iv['low']:{spec}}, {iv['high']:{spec}}]"


def markdown(result: dict) -> str:
    """The arms table and the uplift table of an evaluation result, as markdown."""
    k = result["seeds"]
    lines = [
        f"Downstream classifier `{result['classifier']}` on `{result['test']['source']}` "
        f"({result['test']['n']} samples), {k} seed(s) per arm; mean [95% interval].",
        "",
        "| arm | " + " | ".join(METRIC_TITLES[m] for m in METRICS) + " |",
        "| --- |" + " --- |" * len(METRICS),
    ]
    for arm in result["arms"].values():
        if arm.get("candidate"):
            continue
        lines.append(f"| {arm['title']} | " + " | ".join(fmt(arm["summary"][m]) for m in METRICS) + " |")
    title = METRIC_TITLES[PRIMARY]
    lines += ["", "Mixes compared on validation (the best one is the ganaug arm above; TEST shown for reference):", ""]
    lines += [f"| mix | validation {title} | test {title} |", "| --- | --- | --- |"]
    for arm in result["arms"].values():
        if arm.get("candidate"):
            lines.append(f"| {arm['title']} | {fmt(arm['val_summary'][PRIMARY])} | {fmt(arm['summary'][PRIMARY])} |")
    lines += ["", f"ganaug's uplift in {METRIC_TITLES[PRIMARY]} (paired by seed):", ""]
    lines += ["| over control | uplift [95% interval] | verdict |", "| --- | --- | --- |"]
    for name, u in result["uplift"].items():
        lines.append(f"| {result['arms'][name]['title']} | {fmt(u[PRIMARY], signed=True)} | {u['verdict']} |")
    lines += ["", f"**Verdict: {result['verdict']}** ({result['verdict_reason']})", ""]
    return "\n".join(lines)
