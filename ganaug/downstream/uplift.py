"""Statistics of ``ganaug evaluate``: per-arm scores, 95% intervals over seeds, paired uplifts, verdicts, tables."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "auc")
METRIC_TITLES = {"accuracy": "accuracy", "balanced_accuracy": "balanced acc.", "macro_f1": "macro-F1", "auc": "AUC"}
PRIMARY = "balanced_accuracy"
HELPS, NO_EFFECT, HURTS = "helps", "no measurable effect", "hurts"
FEW_SEEDS = "not enough seeds"
MIN_SEEDS = 3  # below this a t-interval over seeds is too wide to mean anything, and a verdict would be noise


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


def interval(
    values: Sequence[float | None], level: float = 0.95, bounds: tuple[float, float] | None = (0.0, 1.0)
) -> dict:
    """Mean and Student-t interval over seeds: ``{"mean", "low", "high", "std", "n"}`` (no interval for n < 2),
    clipped to ``bounds`` (a score's range; ``(-1, 1)`` for a difference of scores; None: not clipped).

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
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return {"mean": round(mean, 6), "low": round(low, 6), "high": round(high, 6), "std": round(std, 6),
            "n": int(len(v))}  # fmt: skip


def paired_uplift(arm: Sequence[float | None], control: Sequence[float | None]) -> dict:
    """Interval of the per-seed differences arm - control (seeds pair: same initial weights and data order)."""
    diffs = [a - c for a, c in zip(arm, control, strict=True) if a is not None and c is not None]
    return interval(diffs, bounds=(-1.0, 1.0))


def bootstrap_uplift(
    truth: np.ndarray, arm: Sequence[np.ndarray], control: Sequence[np.ndarray], n: int = 2000, seed: int = 0
) -> dict:
    """Paired bootstrap over test samples of the mean (over seeds) balanced-accuracy difference arm - control.

    ``arm`` and ``control`` hold each seed's N x K test probabilities. Test samples are resampled with replacement
    ``n`` times (the same resample for both arms); returns ``{"mean", "low", "high", "n"}`` (2.5 and 97.5 percentiles).
    """
    truth = np.asarray(truth)
    if not len(arm) or len(arm) != len(control) or not len(truth):
        return {"mean": None, "low": None, "high": None, "n": 0}
    k = int(max(truth.max() + 1, arm[0].shape[1]))
    onehot = np.eye(k)[truth]  # N x K
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(truth), np.full(len(truth), 1 / len(truth)), size=n).astype(np.float64)  # n x N
    per_class = weights @ onehot  # n x K: resampled members per class

    def balanced(probs: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros(n)
        for p in probs:
            hit = onehot * (p.argmax(1) == truth)[:, None]  # N x K
            with np.errstate(invalid="ignore", divide="ignore"):
                recall = (weights @ hit) / per_class
            out += np.nanmean(np.where(per_class > 0, recall, np.nan), axis=1)
        return out / len(probs)

    diff = balanced(arm) - balanced(control)
    point = float(np.mean([_balanced(truth, a) - _balanced(truth, c) for a, c in zip(arm, control, strict=True)]))
    return {"mean": round(point, 6), "low": round(float(np.percentile(diff, 2.5)), 6),
            "high": round(float(np.percentile(diff, 97.5)), 6), "n": int(n)}  # fmt: skip


def _balanced(truth: np.ndarray, probs: np.ndarray) -> float:
    pred = probs.argmax(1)
    return float(np.mean([(pred[truth == c] == c).mean() for c in np.unique(truth)]))


def verdict(uplift: dict) -> str:
    """``helps`` when the whole interval is above zero, ``hurts`` when below, else ``no measurable effect``;
    ``not enough seeds`` under :data:`MIN_SEEDS` paired seeds, or when every seed gave the same difference (a
    zero-width interval says the seeds did not vary the training, not that the effect is certain)."""
    low, high = uplift.get("low"), uplift.get("high")
    n = uplift.get("n")
    if n is not None and (n < MIN_SEEDS or uplift.get("std") == 0):
        return FEW_SEEDS
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
    """The arms table, the candidate recipes, the uplift table and the chosen recipe of an evaluation, as markdown."""
    k = result["seeds"]
    lines = [
        f"Downstream classifier `{result['classifier']}` on `{result['test']['source']}` "
        f"({result['test']['n']} samples), {k} seed(s) per arm, {result.get('steps', '?')} optimizer steps each; "
        f"regime: {result.get('regime', 'full')} ({result['data']['n_train']} real training samples); "
        "mean [95% interval].",
        "",
        "| arm | " + " | ".join(METRIC_TITLES[m] for m in METRICS) + " |",
        "| --- |" + " --- |" * len(METRICS),
    ]
    for arm in result["arms"].values():
        if arm.get("candidate"):
            continue
        lines.append(f"| {arm['title']} | " + " | ".join(fmt(arm["summary"][m]) for m in METRICS) + " |")
    title = METRIC_TITLES[PRIMARY]
    lines += ["", "Recipes compared on validation, each on top of classical augmentation (the best is the classical + "
              "ganaug arm above; TEST shown for reference):", ""]  # fmt: skip
    lines += [f"| recipe | validation {title} | test {title} |", "| --- | --- | --- |"]
    for arm in result["arms"].values():
        if arm.get("candidate"):
            lines.append(f"| {arm['title']} | {fmt(arm['val_summary'][PRIMARY])} | {fmt(arm['summary'][PRIMARY])} |")
    lines += [
        "",
        f"ganaug's uplift in {METRIC_TITLES[PRIMARY]} (paired by seed; paired bootstrap over test samples):",
        "",
    ]
    lines += [
        "| over control | uplift [95% interval over seeds] | bootstrap [95%] | verdict |",
        "| --- | --- | --- | --- |",
    ]
    rows = [(result["arms"][name]["title"], u) for name, u in result["uplift"].items()]
    if result.get("classical_plus_ganaug_vs_classical"):
        rows.append(("classical + ganaug over classical", result["classical_plus_ganaug_vs_classical"]))
    for name, u in rows:
        boot = fmt(u["bootstrap"], signed=True) if u.get("bootstrap") else "—"
        lines.append(f"| {name} | {fmt(u[PRIMARY], signed=True)} | {boot} | {u['verdict']} |")
    lines += ["", f"**Verdict: {result['verdict']}** ({result['verdict_reason']})", ""]
    if result.get("verdict_caveat"):
        lines += [f"**But:** {result['verdict_caveat']}.", ""]
    recipe = result.get("recipe")
    if recipe:
        what = recipe["name"] if recipe["add"] else "add no synthetic samples"
        lines += [f"**Recommended recipe: {what}** ({recipe['reason']}; chosen by {recipe['chosen_by']}).", ""]
    return "\n".join(lines)
