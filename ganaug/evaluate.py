"""``ganaug evaluate``: does a generator help a classifier? Measured against the controls that matter.

The same small classifier is trained K times (seeds) in each arm, on the same real training part of DATA:

- ``real``: real samples only;
- ``duplicate``: minority classes topped up with duplicated real samples (the control synthetic data must beat);
- ``classical``: real samples with classical augmentation (translation and rotation; flips and brightness/contrast
  too, except for models trained with the ``medical`` preset);
- ``ganaug``: real samples plus synthetic ones. Candidate mixes are compared on a validation split carved from DATA
  (or given), never on TEST; the best mix is the ``ganaug`` arm. A mix is a ratio of synthetic per real sample,
  given first to the smallest classes, and a filter:

  - ``none``: the generator's samples as drawn;
  - ``confidence``: of twice as many samples, the half that a classifier trained on the real part (the judge)
    finds most typical of their class;
  - ``gate``: ``confidence``, plus a per-class quality gate: a class whose synthetic samples the judge recognises
    less often than its real validation samples gets duplicated real samples in their place;
  - ``discriminator`` (a run folder only): of twice as many samples, the half that the run's own discriminator
    (newest checkpoint) scores as most real for their class.

Scores on TEST: accuracy, balanced accuracy, macro-F1 and AUC, each as a mean and 95% interval over seeds; ganaug's
uplift over each control as a paired interval, and a verdict against the strongest control. Synthetic item k of
class c is the one ``SyntheticMixDataset`` / ``ClassBalancedDataset`` give for the same seed.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .classifier import ModelFactory, default_factory, predict_proba, resolve_device, seed_everything, train_classifier
from .errors import GanaugError
from .uplift import METRICS, PRIMARY, interval, paired_uplift, scores, verdict

CONTROLS = ("real", "duplicate", "classical")
FILTERS = ("none", "confidence", "gate", "discriminator")
DEFAULT_FILTERS = ("none", "confidence", "gate")
TITLES = {"real": "real only", "duplicate": "real + duplicated minority", "classical": "real + classical augmentation"}


def _hashes(x: torch.Tensor) -> list[str]:
    return [hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in x.contiguous()]


def overlap_count(test: torch.Tensor, train: torch.Tensor) -> int:
    """How many TEST samples are identical to a training sample."""
    seen = set(_hashes(train))
    return sum(h in seen for h in _hashes(test))


def carve_validation(
    y: torch.Tensor, fraction: float, names: list[str], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices; a class too small for the split is a clear error."""
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
                f"least {need} per class (at least one for validation, the rest for training). Add samples, raise "
                "--val-fraction, or pass a validation set with --val"
            )
        idx = rng.permutation(idx)
        k = max(1, round(len(idx) * fraction))
        val += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.sort(train), np.sort(val)


def duplicate_minority(y: torch.Tensor, seed: int) -> torch.Tensor:
    """Indices that top every class up to the largest one by duplicating random real samples."""
    gen = torch.Generator().manual_seed(seed)
    counts = torch.bincount(y)
    out = [torch.arange(len(y))]
    for c, n in enumerate(counts.tolist()):
        if 0 < n < int(counts.max()):
            members = torch.nonzero(y == c).flatten()
            out.append(members[torch.randint(n, (int(counts.max()) - n,), generator=gen)])
    return torch.cat(out)


def synthetic_plan(counts: list[int], ratio: float) -> list[int]:
    """Synthetic samples per class for ``ratio`` synthetic per real sample, each one to the smallest class so far."""
    total = round(ratio * sum(counts))
    have = [n if n > 0 else math.inf for n in counts]
    add = [0] * len(counts)
    for _ in range(total):
        c = int(np.argmin([h + a for h, a in zip(have, add, strict=True)]))
        add[c] += 1
    return add


def classical_augment(medical: bool):
    """A batch augmentation (``fn(x, generator)``): translation up to 1/8 of the size and rotation up to 10 degrees;
    for non-medical data also horizontal flips and brightness/contrast jitter."""
    from torch.nn import functional as F

    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = len(x)
        angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
        shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.25  # 1/8 of the size, in [-1, 1] coordinates
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        if not medical:
            flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
            theta[:, :, 0] *= flip[:, None]
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
        if not medical:
            contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.2
            bright = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.2
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            out = ((out - mean) * contrast + mean + bright).clamp(-1, 1)
        return out

    return augment


class _Arms:
    """Trains and scores one classifier per (arm, seed)."""

    def __init__(self, factory: ModelFactory, shape: tuple[int, int, int], k: int, epochs: int, device: str):
        self.factory, self.shape, self.k, self.epochs = factory, shape, k, epochs
        self.device = resolve_device(device)

    def run(self, x, y, seed, augment=None, evaluate=()) -> list[dict]:
        seed_everything(seed)
        net = self.factory(self.shape[0], self.k, self.shape[1], self.shape[2])
        net = train_classifier(net, x, y, epochs=self.epochs, seed=seed, augment=augment, device=self.device)
        return [scores(ty.numpy(), predict_proba(net, tx)) for tx, ty in evaluate]


def evaluate(
    model: Any,
    data: Any,
    test: Any,
    *,
    val: Any = None,
    val_fraction: float = 0.2,
    seeds: int = 5,
    epochs: int = 30,
    ratios: tuple[float, ...] = (0.5, 1.0),
    filters: tuple[str, ...] = DEFAULT_FILTERS,
    model_factory: ModelFactory | None = None,
    split: str = "train",
    test_split: str = "test",
    val_split: str = "val",
    quality: bool = True,
    device: str = "auto",
    progress: bool = True,
    out: str | Path | None = None,
    warn=print,
) -> dict:
    """Train the same classifier ``seeds`` times per arm and compare on ``test``; see the module's doc.

    ``model_factory(channels, num_classes, height, width)`` replaces the default small ResNet. Writes
    ``evaluation.json`` and ``evaluation.md`` to ``out`` (default: the export folder of a local MODEL, whose model
    card then shows the result) and returns the result.

    Example:
        >>> result = evaluate("runs/breast", "breast.npz", "breast.npz", seeds=5)  # doctest: +SKIP
        >>> result["verdict"], result["uplift"]["duplicate"]["balanced_accuracy"]  # doctest: +SKIP
    """
    from .data import read_data
    from .evaluate_io import output_folder, write_outputs
    from .metrics import get_extractor, labels_for, measure_quality
    from .progress import progress_bar
    from .sampling import Sampler
    from .sources import load_generator

    if seeds < 1:
        raise GanaugError(f"seeds must be >= 1, got {seeds}")
    bad = [f for f in filters if f not in FILTERS]
    if bad or not filters or not ratios or any(r <= 0 for r in ratios):
        raise GanaugError(f"ratios must be > 0 and filters from {', '.join(FILTERS)}; got {ratios}, {filters}")
    g = load_generator(model)
    out_dir = output_folder(model, out)
    names, dc = g.class_names, g.data
    opts = {"resolution": f"{dc.height}x{dc.width}", "channels": dc.channels}
    real = read_data(data, split=split, **opts)
    held = read_data(test, split=test_split, **opts)
    y_all = labels_for(real, names, "DATA")
    y_test = labels_for(held, names, "TEST")
    notes = []
    same = overlap_count(held.images, real.images)
    if same:
        notes.append(f"TEST shares {same} sample(s) identical to DATA samples; their scores are optimistic")
        warn(f"warning: {notes[-1]}")
    if val is not None:
        vdata = read_data(val, split=val_split, **opts)
        x_tr, y_tr, x_val, y_val = real.images, y_all, vdata.images, labels_for(vdata, names, "the validation data")
    else:
        tr, va = carve_validation(y_all, val_fraction, names)
        x_tr, y_tr, x_val, y_val = real.images[tr], y_all[tr], real.images[va], y_all[va]
    factory = model_factory or default_factory
    arms = _Arms(factory, (dc.channels, dc.height, dc.width), g.num_classes, epochs, device)
    medical = g.config.get("training", {}).get("preset") == "medical"
    counts = torch.bincount(y_tr, minlength=g.num_classes).tolist()
    judge, bar, gate_report, critic = None, None, {}, None
    if "discriminator" in filters:
        from .critic import load_critic

        critic = load_critic(model, g.config["arch"], g.config["arch_args"])
    if set(filters) & {"confidence", "gate"}:
        train_part = type(real)(x_tr, y_tr, dc)
        judge = get_extractor("classifier", data=train_part, folder=out_dir, device=device, epochs=epochs)
        bar = class_recall(judge, x_val, y_val, g.num_classes)
    candidates = [(r, f) for r in ratios for f in filters]
    total = seeds * (len(CONTROLS) + len(candidates))
    results: dict[str, dict[str, Any]] = {name: {"title": TITLES[name], "test": [], "val": []} for name in CONTROLS}
    for r, f in candidates:
        results[f"ganaug@{r:g}/{f}"] = {"title": f"real + ganaug (ratio {r:g}, filter {f})", "test": [], "val": [],
                                        "ratio": r, "filter": f, "candidate": True}  # fmt: skip
    sets = ((x_val, y_val), (held.images, y_test))
    with progress_bar("evaluate", total, progress) as advance:
        for s in range(seeds):
            dup = duplicate_minority(y_tr, s)
            jobs = {
                "real": (x_tr, y_tr, None),
                "duplicate": (x_tr[dup], y_tr[dup], None),
                "classical": (x_tr, y_tr, classical_augment(medical)),
            }
            sampler = Sampler(g, seed=s)
            gates: dict[float, list[dict]] = {}
            for r, f in candidates:
                plan = synthetic_plan(counts, r)
                score = _scorer(f, judge, critic)
                sx, sy, gate = _synthetic(sampler, plan, score, judge if f == "gate" else None, bar)
                if f == "gate":
                    gates[r] = gate
                    sx, sy = _gate_fill(sx, sy, x_tr, y_tr, plan, gate, s)
                jobs[f"ganaug@{r:g}/{f}"] = (torch.cat([x_tr, sx]), torch.cat([y_tr, sy]), None)
            if gates and s == 0:
                gate_report = {f"{r:g}": v for r, v in gates.items()}
            for name, (x, y, aug) in jobs.items():
                val_scores, test_scores = arms.run(x, y, s, aug, sets)
                results[name]["val"].append(val_scores)
                results[name]["test"].append(test_scores)
                advance(1)
    for arm in results.values():
        arm["summary"] = {m: interval([t[m] for t in arm["test"]]) for m in METRICS}
        arm["val_summary"] = {m: interval([v[m] for v in arm["val"]]) for m in METRICS}
    if bar is not None and "gate" in filters:
        notes.append(gate_note(gate_report, names))
    picks = [n for n in results if results[n].get("candidate")]
    best = max(picks, key=lambda n: results[n]["val_summary"][PRIMARY]["mean"])
    ratio, filt = results[best]["ratio"], results[best]["filter"]
    title = f"real + ganaug (ratio {ratio:g}, filter {filt}; chosen on validation)"
    chosen = dict(results[best], title=title, candidate=False)
    results["ganaug"] = chosen
    uplift = {}
    for c in CONTROLS:
        u = {m: paired_uplift([t[m] for t in chosen["test"]], [t[m] for t in results[c]["test"]]) for m in METRICS}
        u["verdict"] = verdict(u[PRIMARY])
        uplift[c] = u
    strongest = max(CONTROLS, key=lambda c: results[c]["summary"][PRIMARY]["mean"])
    result = {
        "model": str(model),
        "classifier": "SmallResNet" if model_factory is None else getattr(factory, "__name__", type(factory).__name__),
        "seeds": seeds,
        "epochs": epochs,
        "data": {"source": str(data), "n_train": len(y_tr), "n_val": len(y_val), "class_counts": counts},
        "validation": "given" if val is not None else f"{val_fraction:.0%} of DATA, stratified",
        "test": {"source": str(test), "n": len(y_test), "identical_to_train": same},
        "classes": names,
        "medical": medical,
        "arms": results,
        "chosen": {"arm": best, "ratio": chosen["ratio"], "filter": chosen["filter"], "by": f"validation {PRIMARY}"},
        "gate": gate_report if "gate" in filters else None,
        "uplift": uplift,
        "strongest_control": strongest,
        "verdict": uplift[strongest]["verdict"],
        "verdict_reason": f"{PRIMARY.replace('_', ' ')} against the strongest control, {TITLES[strongest]}; the "
        "interval must exclude zero for helps or hurts",
        "notes": notes,
    }
    if quality:
        result["quality"] = measure_quality(
            g, type(real)(x_tr, y_tr, dc), heldout=type(held)(held.images, y_test, dc), device=device,
            epochs=epochs, folder=out_dir, pairs_path=out_dir / "memorisation_pairs.png",
        )  # fmt: skip
    return write_outputs(result, model, out_dir, warn)


def class_recall(judge, x: torch.Tensor, y: torch.Tensor, k: int) -> list[float | None]:
    """The judge's recall of each class on real samples (None for a class absent from ``y``)."""
    pred = judge.logits(x).argmax(1)
    return [float((pred[y == c] == c).float().mean()) if bool((y == c).any()) else None for c in range(k)]


def _scorer(name: str, judge, critic):
    """``score(x, c)`` for a filter (higher is kept), or None for ``none``."""
    if name in ("confidence", "gate"):
        return lambda x, c: torch.softmax(judge.logits(x), 1)[:, c]
    if name == "discriminator":
        return critic.scores
    return None


def _synthetic(sampler, plan: list[int], score=None, judge=None, bar: list[float | None] | None = None):
    """Synthetic samples per ``plan`` and, with a ``judge`` and its ``bar``, each class's gate.

    With a ``score(x, c)``, the best-scored half of twice as many samples are kept. With a ``judge`` and a ``bar``
    (the judge's recall of each class on real validation samples), a class passes its gate when the judge
    recognises at least that share of all its drawn synthetic samples, before the filter; a class with no real
    validation sample always passes.
    """
    xs, ys, gate = [], [], []
    for c, n in enumerate(plan):
        if n == 0:
            continue
        if score is None:
            x = sampler.items(c, range(n))
        else:
            pool = sampler.items(c, range(2 * n))
            x = pool[torch.argsort(score(pool, c), descending=True)[:n]]
            if judge is not None and bar is not None:
                recognised = float((judge.logits(pool).argmax(1) == c).float().mean())
                need = bar[c]
                gate.append({"class": c, "recognised": recognised, "needed": need,
                             "passed": need is None or recognised >= need})  # fmt: skip
        xs.append(x)
        ys.append(torch.full((n,), c, dtype=torch.long))
    if not xs:
        return torch.empty(0, *sampler.items(0, [0]).shape[1:]), torch.empty(0, dtype=torch.long), gate
    return torch.cat(xs), torch.cat(ys), gate


def _gate_fill(sx, sy, x_tr, y_tr, plan: list[int], gate: list[dict], seed: int):
    """Replace the synthetic samples of every class that failed its gate by as many duplicated real samples."""
    failed = {g["class"] for g in gate if not g["passed"]}
    if not failed:
        return sx, sy
    gen = torch.Generator().manual_seed(seed)
    keep = torch.tensor([int(c) not in failed for c in sy.tolist()], dtype=torch.bool)
    xs, ys = [sx[keep]], [sy[keep]]
    for c in sorted(failed):
        members = torch.nonzero(y_tr == c).flatten()
        pick = members[torch.randint(len(members), (plan[c],), generator=gen)]
        xs.append(x_tr[pick])
        ys.append(y_tr[pick])
    return torch.cat(xs), torch.cat(ys)


def gate_note(report: dict, names: list[str]) -> str:
    """One line: which classes passed the quality gate at each ratio (seed 0)."""
    parts = []
    for ratio, gate in report.items():
        cells = [
            f"{names[g['class']]} {'passed' if g['passed'] else 'failed'} ({g['recognised']:.2f}"
            + (f" vs {g['needed']:.2f})" if g["needed"] is not None else ")")
            for g in gate
        ]
        parts.append(f"ratio {ratio}: " + ", ".join(cells) if cells else f"ratio {ratio}: no synthetic samples")
    return "quality gate (share of synthetic samples the judge recognises vs its recall on real validation): " + (
        "; ".join(parts)
    )
