"""``ganaug evaluate``: does a generator help a classifier? Measured against the controls that matter.

The same small classifier is trained K times (paired seeds: same initial weights and data order) per arm, each for
the same number of optimizer steps, on the same real training part of DATA:

- ``real``: real samples only;
- ``duplicate``: minority classes topped up with duplicated real samples (balanced classes: the real-only arm);
- ``classical``: real samples with classical augmentation (whole-pixel shifts, along time only for spectrograms;
  flips and brightness/contrast too, except for data whose preset does not keep labels under them, such as
  ``medical``);
- ``distill`` (when a candidate uses soft labels): real images blended by mixup and labelled by the teacher, so
  that what distillation alone gives is not credited to the generator;
- ``ganaug``: real samples plus synthetic ones by a recipe (:mod:`ganaug.downstream.recipe`): a share of every batch,
  a loss weight, the teacher filter, hard or soft labels, the latent spread, fresh pools, two-stage training. Candidate
  recipes are trained on top of classical augmentation, the way most users deploy them (a candidate trained alone can
  lose to ``classical`` while the same samples over classically augmented real ones win), and compared on a
  validation split (given, or carved from DATA), never on TEST. The best one is then also trained without classical
  augmentation (``ganaug-alone``); validation chooses which of the two is the ``ganaug`` arm.

The teacher is a classifier trained on the real training part (:class:`ganaug.downstream.teacher.Teacher`). Regimes:
``train_fraction`` keeps a stratified fraction of DATA, ``minority_fraction`` cuts every class but the largest
(by default the fractions the model was fitted with, so the classifier sees the GAN's own training data).

Scores on TEST: accuracy, balanced accuracy, macro-F1 and AUC with a 95% interval over seeds; ganaug's uplift over
each control as a paired interval over seeds and a paired bootstrap over test images, and a verdict against the
strongest control. The chosen recipe is written into the export (``config.json`` and card); where validation shows
no gain over the strongest control it says not to add synthetic samples.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.subset import carve_validation
from ..downstream.classifier import ModelFactory, default_factory
from ..downstream.recipe import Recipe, synthetic_plan
from ..downstream.uplift import METRICS, PRIMARY, bootstrap_uplift, fmt, interval, paired_uplift, verdict
from ..downstream.workers import map_seeds, resolve_jobs, work_done
from ..errors import GanaugError
from ..presets import preset_of
from .arms import (
    CONTROLS,
    MIN_STEPS,
    MIXUP_ALPHA,
    TITLES,
    Arms,
    Job,
    classical_augment,
    default_recipes,
    distill_labels,
    duplicate_minority,
    nothing_to_duplicate,
    overlap_count,
    recipe_job,
    recipe_stream,
)
from .decision import adds_samples, cas_caveat, validation_seen, why_not_added
from .partial import SeedStore

__all__ = ["evaluate", "carve_validation", "duplicate_minority", "overlap_count", "synthetic_plan"]


def evaluate(
    model: Any,
    data: Any,
    test: Any,
    *,
    val: Any = None,
    val_fraction: float = 0.2,
    seeds: int = 5,
    epochs: int = 30,
    steps: int = 0,
    ratios: tuple[float, ...] = (1.0,),
    recipes: list[Recipe] | None = None,
    train_fraction: float | None = None,
    minority_fraction: float | None = None,
    model_factory: ModelFactory | None = None,
    split: str = "train",
    test_split: str = "test",
    val_split: str = "val",
    labels: str = "",
    test_labels: str = "",
    val_labels: str = "",
    label_pattern: str = "",
    quality: bool = True,
    device: str = "auto",
    jobs: int = 0,
    progress: bool = True,
    out: str | Path | None = None,
    warn=print,
) -> dict:
    """Train the same classifier ``seeds`` times per arm and compare on ``test``; see the module's doc.

    ``steps`` updates per training (0: ``epochs`` passes over the real training part, at least 500). ``recipes``
    are the candidates (default: :func:`~ganaug.evaluation.arms.default_recipes` at ``ratios``).
    ``model_factory(channels, num_classes, height, width)`` replaces the default small ResNet. ``jobs`` worker
    processes train the seeds side by side on a CPU (0: one per core; the results are the same). Writes
    ``evaluation.json`` and ``evaluation.md`` to ``out`` (default: the export folder of a local MODEL, whose
    ``config.json`` then holds the chosen recipe and whose model card shows the result) and returns the result.
    DATA, TEST and VAL are read at the model's size, and as log-mel spectrograms with its saved settings and value
    range for a spectrogram model; ``labels`` / ``test_labels`` / ``val_labels`` (a CSV naming each file's class) or
    ``label_pattern`` label flat folders, as in ``ganaug fit``.

    Example:
        >>> result = evaluate("runs/breast", "breast.npz", "breast.npz", seeds=5)  # doctest: +SKIP
        >>> result["verdict"], result["recipe"]["add"]  # doctest: +SKIP
    """
    prepared = prepare(
        model, data, test, val=val, val_fraction=val_fraction, seeds=seeds, epochs=epochs, steps=steps,
        ratios=ratios, recipes=recipes, train_fraction=train_fraction, minority_fraction=minority_fraction,
        model_factory=model_factory, split=split, test_split=test_split, val_split=val_split, labels=labels,
        test_labels=test_labels, val_labels=val_labels, label_pattern=label_pattern, device=device, out=out, warn=warn,
    )  # fmt: skip
    store = SeedStore.for_evaluation(prepared)
    finished = store.saved_seeds("arms")
    if finished:
        warn(f"note: {len(finished)} of {seeds} seed(s) were trained by an interrupted run of this same evaluation; "
             f"their scores are read from {store.folder}, the rest are trained")  # fmt: skip
    trained = run_arms(prepared, jobs=jobs, progress=progress, store=store)
    result = summarise(prepared, trained, quality=quality, warn=warn)
    store.clear()
    return result


@dataclass
class Prepared:
    """What the arms train on, read and checked once: the generator, the real training, validation and test parts,
    the candidate recipes, the controls, the teacher, and the notes gathered so far."""

    model: Any
    data: Any
    test: Any
    val: Any
    val_fraction: float
    g: Any  # the loaded Generator
    out_dir: Path
    fitted: dict
    train_fraction: float
    minority_fraction: float
    real: Any  # LabelledData: DATA as read (before the subset)
    held: Any  # LabelledData: TEST
    y_test: torch.Tensor
    x_tr: torch.Tensor
    y_tr: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    same: int  # TEST samples identical to DATA samples
    seeds: int
    epochs: int
    steps: int
    device: str
    model_factory: ModelFactory | None
    factory: ModelFactory
    arms: Arms
    classical: Any  # the classical control's batch augmentation, as the data's preset sets it up
    counts: list[int]
    teacher: Any
    candidates: list[Recipe]
    soft: list[Recipe]
    controls: list[str]
    notes: list[str]
    val_seen: bool = False  # validation was carved from samples the generator trained on


@dataclass
class Trained:
    """Every arm's scores per seed (``results``), its test probabilities (``probs``), and the candidate chosen on
    validation (``best``, its ``recipe``)."""

    results: dict[str, dict[str, Any]]
    probs: dict[str, list[np.ndarray]]
    keys: list[str]
    best: str
    recipe: Recipe


def prepare(
    model: Any,
    data: Any,
    test: Any,
    *,
    val: Any = None,
    val_fraction: float = 0.2,
    seeds: int = 5,
    epochs: int = 30,
    steps: int = 0,
    ratios: tuple[float, ...] = (1.0,),
    recipes: list[Recipe] | None = None,
    train_fraction: float | None = None,
    minority_fraction: float | None = None,
    model_factory: ModelFactory | None = None,
    split: str = "train",
    test_split: str = "test",
    val_split: str = "val",
    labels: str = "",
    test_labels: str = "",
    val_labels: str = "",
    label_pattern: str = "",
    device: str = "auto",
    out: str | Path | None = None,
    warn=print,
) -> Prepared:
    """Read the data and the subset, split off validation, build the teacher and the candidates (see :func:`evaluate`
    for the arguments)."""
    from ..data.options import read_in_model_space
    from ..data.subset import subset_indices
    from ..hub.sources import load_generator
    from ..metrics import labels_for
    from .io import output_folder

    if seeds < 1:
        raise GanaugError(f"seeds must be >= 1, got {seeds}")
    candidates = list(recipes) if recipes is not None else default_recipes(tuple(ratios))
    if not candidates or not all(isinstance(r, Recipe) for r in candidates):
        raise GanaugError("recipes must be a non-empty list of ganaug.downstream.recipe.Recipe")
    g = load_generator(model)
    out_dir = output_folder(model, out)
    names, dc = g.class_names, g.data
    fitted = g.config.get("training", {})
    train_fraction = fitted.get("train_fraction", 1.0) if train_fraction is None else train_fraction
    minority_fraction = fitted.get("minority_fraction", 1.0) if minority_fraction is None else minority_fraction
    real = read_in_model_space(data, dc, split=split, labels=labels, label_pattern=label_pattern)
    held = read_in_model_space(test, dc, split=test_split, labels=test_labels, label_pattern=label_pattern)
    y_all = labels_for(real, names, "DATA")
    y_test = labels_for(held, names, "TEST")
    notes = []
    for what, used in (("train_fraction", train_fraction), ("minority_fraction", minority_fraction)):
        fitted_value = fitted.get(what, 1.0)
        if fitted_value != used:
            notes.append(f"the model was fitted with {what}={fitted_value:g} but is evaluated with {used:g}")
            warn(f"warning: {notes[-1]}")
    keep = torch.from_numpy(subset_indices(y_all, train_fraction=train_fraction,
                                           minority_fraction=minority_fraction, names=names))  # fmt: skip
    x_all, y_all = real.images[keep], y_all[keep]
    same = overlap_count(held.images, x_all)
    if same:
        notes.append(f"TEST shares {same} sample(s) identical to DATA samples; their scores are optimistic")
        warn(f"warning: {notes[-1]}")
    val_seen = False
    if val is not None:
        vdata = read_in_model_space(val, dc, split=val_split, labels=val_labels, label_pattern=label_pattern)
        x_tr, y_tr, x_val, y_val = x_all, y_all, vdata.images, labels_for(vdata, names, "the validation data")
    else:
        holdout = float(fitted.get("holdout", 0.0) or 0.0)
        tr, va = carve_validation(y_all, holdout or val_fraction, names)
        x_tr, y_tr, x_val, y_val = x_all[tr], y_all[tr], x_all[va], y_all[va]
        val_seen = validation_seen(holdout, y_all, y_tr, list(dc.class_counts or []), notes, warn)
    steps = steps or max(MIN_STEPS, epochs * math.ceil(len(y_tr) / 64))
    factory = model_factory or default_factory
    arms = Arms(factory, (dc.channels, dc.height, dc.width), g.num_classes, steps, device)
    preset = preset_of(fitted)
    classical = classical_augment(preset.photometric_augmentation, preset.vertical_shifts)
    counts = torch.bincount(y_tr, minlength=g.num_classes).tolist()
    if nothing_to_duplicate(counts):
        notes.append("the classes are balanced, so duplicating minority samples adds none: the duplicated-minority "
                     "arm is the real-only arm, trained once")  # fmt: skip
    teacher = _teacher(g, x_tr, y_tr, names, epochs, device) if any(r.needs_teacher for r in candidates) else None
    soft = [r for r in candidates if r.labels == "soft" or r.distill]
    controls = [c for c in CONTROLS if c != "distill" or soft]
    return Prepared(
        model=model, data=data, test=test, val=val, val_fraction=val_fraction, g=g, out_dir=out_dir, fitted=fitted,
        train_fraction=train_fraction, minority_fraction=minority_fraction, real=real, held=held, y_test=y_test,
        x_tr=x_tr, y_tr=y_tr, x_val=x_val, y_val=y_val, same=same, seeds=seeds, epochs=epochs, steps=steps,
        device=device, model_factory=model_factory, factory=factory, arms=arms, classical=classical,
        counts=counts, teacher=teacher, candidates=candidates, soft=soft, controls=controls, notes=notes,
        val_seen=val_seen,
    )  # fmt: skip


def run_arms(p: Prepared, *, jobs: int = 0, progress: bool = True, store: SeedStore | None = None) -> Trained:
    """Train every arm for every seed (``jobs`` worker processes, 0: one per core), the candidates on top of
    classical augmentation; choose the candidate on validation, then train it without classical augmentation. Each
    finished seed is saved in ``store`` and a seed found there is read back instead of trained."""
    from ..generation.sampling import Sampler
    from ..progress import progress_bar

    g, seeds, candidates, teacher, counts = p.g, p.seeds, p.candidates, p.teacher, p.counts
    x_tr, y_tr, arms, soft = p.x_tr, p.y_tr, p.arms, p.soft
    results: dict[str, dict[str, Any]] = {name: {"title": TITLES[name], "test": [], "val": []} for name in p.controls}
    keys = [f"ganaug#{i}" for i in range(len(candidates))]
    for key, r in zip(keys, candidates, strict=True):
        results[key] = {"title": f"real + classical augmentation + ganaug ({r.name})", "test": [], "val": [],
                        "recipe": r.to_dict(), "candidate": True}  # fmt: skip
    sets = ((p.x_val, p.y_val), (p.held.images, p.y_test))
    probs: dict[str, list[np.ndarray]] = {name: [] for name in results}
    temperature = soft[0].temperature if soft else 1.0

    def record(name: str, trained: list) -> None:
        for (val_scores, test_scores), test_probs in trained:  # in seed order
            results[name]["val"].append(val_scores)
            results[name]["test"].append(test_scores)
            probs.setdefault(name, []).append(test_probs)

    cores = resolve_jobs(jobs, seeds, arms.device)
    per_seed = len(p.controls) + len(candidates)
    balanced = nothing_to_duplicate(counts)
    with progress_bar("evaluate", seeds * (per_seed + 1), progress) as advance:

        def arms_of_seed(s: int) -> dict[str, tuple[list[dict], np.ndarray]]:
            jobs_ = {"real": Job(x_tr, y_tr)}
            if not balanced:  # with balanced classes the duplicated-minority arm is the real-only one
                dup = duplicate_minority(y_tr, s)
                jobs_["duplicate"] = Job(x_tr[dup], y_tr[dup])
            jobs_["classical"] = Job(x_tr, y_tr, augment=p.classical)
            if soft:
                jobs_["distill"] = Job(x_tr, y_tr, relabel=distill_labels(teacher, temperature), mixup=MIXUP_ALPHA)
            samplers: dict[float, Sampler] = {}
            for key, r in zip(keys, candidates, strict=True):
                if r.spread not in samplers:  # candidates of one spread draw from one stream, in their order
                    samplers[r.spread] = Sampler(g, seed=s, spread=r.spread)
                stream = recipe_stream(samplers[r.spread], teacher, r, synthetic_plan(counts, r.ratio))
                jobs_[key] = recipe_job(x_tr, y_tr, stream, r, teacher, augment=p.classical)
            out = {}
            for name, job in jobs_.items():
                (val_scores, test_scores), (_, test_probs) = arms.run(job, s, sets)
                out[name] = ((val_scores, test_scores), test_probs)
                work_done(1)
            if balanced:
                scores, real_probs = out["real"]
                out["duplicate"] = (scores, real_probs.copy())  # its own array: kept seeds save each arm's tensor
                work_done(1)
            return out

        by_seed = map_seeds(kept(store, "arms", arms_of_seed, per_seed), range(seeds), cores, advance=advance)
        for name in list(results):
            record(name, [by_seed[s][name] for s in range(seeds)])
        for arm in results.values():
            arm["val_summary"] = {m: interval([v[m] for v in arm["val"]]) for m in METRICS}
        best = max(keys, key=lambda n: results[n]["val_summary"][PRIMARY]["mean"])
        recipe = Recipe.from_dict(results[best]["recipe"])
        results["classical+ganaug"] = dict(results[best], candidate=False)
        probs["classical+ganaug"] = probs[best]
        results["ganaug-alone"] = {"title": f"real + ganaug ({recipe.name}), without classical augmentation",
                                   "test": [], "val": []}  # fmt: skip

        def alone(s: int) -> dict[str, tuple[tuple[dict, dict], np.ndarray]]:
            stream = recipe_stream(Sampler(g, seed=s, spread=recipe.spread), teacher, recipe,
                                   synthetic_plan(counts, recipe.ratio))  # fmt: skip
            (val_scores, test_scores), (_, test_probs) = arms.run(recipe_job(x_tr, y_tr, stream, recipe, teacher), s,
                                                                  sets)  # fmt: skip
            work_done(1)
            return {"ganaug-alone": ((val_scores, test_scores), test_probs)}

        plus = map_seeds(kept(store, "alone", alone, 1), range(seeds), cores, advance=advance)
        record("ganaug-alone", [plus[s]["ganaug-alone"] for s in range(seeds)])
    return Trained(results=results, probs=probs, keys=keys, best=best, recipe=recipe)


def kept(store: SeedStore | None, phase: str, task, units: int):
    """``task`` (seed -> {arm: scores}) that reads a seed from ``store`` when it is there (counting its ``units``
    trainings as done) and saves it there when it ends."""
    if store is None:
        return task

    def run(seed: int):
        saved = store.load(phase, seed)
        if saved is not None:
            work_done(units)
            return saved
        value = task(seed)
        store.save(phase, seed, value)
        return value

    return run


def summarise(p: Prepared, trained: Trained, *, quality: bool = True, warn=print) -> dict:
    """Pick the deployed arm on validation, compute the uplifts, the verdict and the recipe, measure the generator's
    quality (``quality``), and write ``evaluation.json`` and ``evaluation.md``; returns the result."""
    from ..data.subset import describe_subset
    from ..downstream.teacher import Teacher
    from ..metrics import measure_quality
    from .io import write_outputs

    results, probs, notes, controls, seeds = trained.results, trained.probs, p.notes, p.controls, p.seeds
    if seeds > 1 and all(np.array_equal(probs["real"][0], q) for q in probs["real"][1:]):
        notes.append("every seed trained the same classifier (does the model factory ignore the seed?): intervals "
                     "over seeds are meaningless, so no verdict is given")  # fmt: skip
        warn(f"warning: {notes[-1]}")
    for arm in results.values():
        arm["summary"] = {m: interval([t[m] for t in arm["test"]]) for m in METRICS}
        if "val_summary" not in arm:  # the ganaug-alone arm, trained after the choice
            arm["val_summary"] = {m: interval([v[m] for v in arm["val"]]) for m in METRICS}
    # the deployed arm, chosen on validation: the recipe on top of classical augmentation (how it was ranked, and how
    # most pipelines will use it), or alone
    val_of = lambda name: results[name]["val_summary"][PRIMARY]["mean"]  # noqa: E731
    with_classical = val_of("classical+ganaug") >= val_of("ganaug-alone")
    deployed = "classical+ganaug" if with_classical else "ganaug-alone"
    recipe = dataclasses.replace(trained.recipe, with_classical=with_classical)
    base = "real + classical augmentation + ganaug" if with_classical else "real + ganaug"
    chosen = dict(results[deployed], title=f"{base} ({recipe.name}; chosen on validation)", candidate=False)
    results["ganaug"] = chosen
    probs["ganaug"] = probs[deployed]
    uplift = {}
    truth = p.y_test.numpy()
    for c in controls:
        u = {m: paired_uplift([t[m] for t in chosen["test"]], [t[m] for t in results[c]["test"]]) for m in METRICS}
        u["bootstrap"] = bootstrap_uplift(truth, probs["ganaug"], probs[c])
        u["verdict"] = verdict(u[PRIMARY])
        uplift[c] = u
    cg = {m: paired_uplift([t[m] for t in results["classical+ganaug"]["test"]],
                           [t[m] for t in results["classical"]["test"]]) for m in METRICS}  # fmt: skip
    cg["bootstrap"] = bootstrap_uplift(truth, probs["classical+ganaug"], probs["classical"])
    cg["verdict"] = verdict(cg[PRIMARY])
    if recipe.distill:
        notes.append("the chosen recipe goes on top of distillation, so 'classical + ganaug' against 'classical' "
                     "includes what distillation gives; the uplift over the distillation control is the generator's "
                     "own")  # fmt: skip
    strongest = max(controls, key=lambda c: results[c]["summary"][PRIMARY]["mean"])
    strongest_val = max(controls, key=lambda c: results[c]["val_summary"][PRIMARY]["mean"])
    val_gain = paired_uplift([v[PRIMARY] for v in chosen["val"]], [v[PRIMARY] for v in results[strongest_val]["val"]])
    add = adds_samples(val_gain, seeds) and not p.val_seen
    recipe_out = {
        **recipe.to_dict(),
        "add": add,
        "name": recipe.name,
        "chosen_by": f"validation {PRIMARY.replace('_', ' ')}, {seeds} seed(s), among {len(p.candidates)} recipes "
        "on top of classical augmentation",
        "reason": f"on validation the best arm ({base}, {recipe.name}) scored {fmt(val_gain, signed=True)} balanced "
        f"accuracy against the strongest control there, {TITLES[strongest_val]}"
        + (
            ""
            if add
            else f"; {why_not_added(val_gain, seeds, p.val_seen)}, so the wrappers add no synthetic samples "
            "unless asked"
        ),
    }
    factory, teacher, g, dc = p.factory, p.teacher, p.g, p.g.data
    classifier = "SmallResNet" if p.model_factory is None else getattr(factory, "__name__", type(factory).__name__)
    result = {
        "model": str(p.model),
        "classifier": classifier,
        "seeds": seeds,
        "steps": p.steps,
        "regime": describe_subset(p.train_fraction, p.minority_fraction),
        "data": {
            "source": str(p.data),
            "n_train": len(p.y_tr),
            "n_val": len(p.y_val),
            "class_counts": p.counts,
            "train_fraction": p.train_fraction,
            "minority_fraction": p.minority_fraction,
        },  # fmt: skip
        "validation": "given" if p.val is not None else f"{p.val_fraction:.0%} of DATA, stratified",
        "test": {"source": str(p.test), "n": len(p.y_test), "identical_to_train": p.same},
        "classes": g.class_names,
        "preset": preset_of(p.fitted).name,
        "teacher": None if teacher is None else {k: teacher.info.get(k) for k in ("train_samples", "held_out")},
        "arms": results,
        "chosen": {"arm": deployed, "recipe": recipe.to_dict(), "by": f"validation {PRIMARY}"},
        "recipe": recipe_out,
        "uplift": uplift,
        "classical_plus_ganaug_vs_classical": cg,
        "strongest_control": strongest,
        "verdict": uplift[strongest]["verdict"],
        "verdict_reason": f"{PRIMARY.replace('_', ' ')} against the strongest control, {TITLES[strongest]}; the "
        "interval must exclude zero for helps or hurts",
        "notes": notes,
    }
    out_dir = p.out_dir
    if teacher is not None and (out_dir / "config.json").is_file() and Teacher.load(out_dir) is None:
        teacher.save(out_dir)  # an export from before teachers: the recipe's filter and soft labels need one
        result["teacher_written"] = str(out_dir / "teacher.json")
    if quality:
        real, held = p.real, p.held
        result["quality"] = measure_quality(
            g, type(real)(p.x_tr, p.y_tr, dc), heldout=type(held)(held.images, p.y_test, dc), device=p.device,
            epochs=p.epochs, folder=out_dir, pairs_path=out_dir / "memorisation_pairs.png",
        )  # fmt: skip
        caveat = cas_caveat(result["quality"], g.num_classes, result["verdict"])
        if caveat:
            result["verdict_caveat"] = caveat
            notes.append(caveat)
    return write_outputs(result, p.model, out_dir, warn)


def _teacher(g, x: torch.Tensor, y: torch.Tensor, names: list[str], epochs: int, device: str):
    """The export's teacher when it was trained on exactly this training part, else one trained here the same way
    (the export's teacher may have seen the validation part)."""
    from ..downstream.teacher import Teacher, fingerprint

    saved = Teacher.load(g.folder) if g.folder is not None else None
    if saved is not None and saved.info.get("data_fingerprint") == fingerprint(x, y):
        return saved
    return Teacher.train(x, y, class_names=names, epochs=epochs, device=device)
