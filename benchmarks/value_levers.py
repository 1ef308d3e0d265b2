"""Two levers of the value issue, each against the controls it must beat, on MedMNIST with the official splits.

    python benchmarks/value_levers.py teacher --dataset retinamnist --regime small --model RUN [--seeds 5]
    python benchmarks/value_levers.py generators --dataset breastmnist --regime imbalanced --model RUN_A \
        --model-b RUN_B [--model-b RUN_C ...] [--seeds 12] [--jobs 2]

``teacher``: does a teacher trained on real *and* synthetic samples make distillation better? Three teachers:
evaluate's own (T0, real only), a real-only one trained like the next (T1: classical augmentation, class-balanced
batches, ``--teacher-steps`` updates) and T2, trained the same way with half of each batch synthetic (ratio 2,
filtered by T0, 5 fresh pools). The arms distill from each, with and without classical augmentation, and T2 with
synthetic samples on top. T2 against T1 is the generator's own contribution.

``generators``: one recipe (teacher filter, hard labels, ratio 1, on top of classical augmentation) with two or more
generators of the same data (for example a fit with ``--class-loss adc`` against a default fit), beside classical
augmentation and classical augmentation + distillation (the strongest controls on these sets); and generator A's
recipe on top of classical augmentation and distillation.

Every arm trains ``ganaug``'s SmallResNet for ``--clf-steps`` updates with paired seeds (same initial weights and
data order across arms). One line per figure: the paired 95% interval over seeds of the difference in balanced
accuracy, the paired bootstrap over test images, and the ratio of the two arms' means.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402

FRACTIONS = {"full": {}, "small": {"train_fraction": 0.1}, "imbalanced": {"minority_fraction": 0.1}}


def teacher_arms(g, x, y, aug, teacher_steps: int):
    """The arms of the ``teacher`` lever and the teachers."""
    import torch

    from ganaug.downstream.classifier import SmallResNet, seed_everything, train_classifier
    from ganaug.downstream.recipe import Recipe, synthetic_plan
    from ganaug.downstream.teacher import Teacher
    from ganaug.evaluation.arms import MIXUP_ALPHA, Job, distill_labels, recipe_job, recipe_stream
    from ganaug.generation.sampling import Sampler

    k = g.num_classes
    counts = torch.bincount(y, minlength=k).tolist()
    t0 = Teacher.train(x, y, class_names=g.class_names, epochs=30)

    def trained(synthetic) -> Teacher:
        seed_everything(0)
        net = SmallResNet(x.shape[1], k, x.shape[2], x.shape[3]).to(memory_format=torch.channels_last)
        net = train_classifier(net, x, y, steps=teacher_steps, augment=aug, balanced=True, synthetic=synthetic)
        return Teacher(net.cpu(), {"arch_args": net.config})

    mix = Recipe(ratio=2.0, filter="teacher", refresh=5)
    t1 = trained(None)
    t2 = trained(recipe_stream(Sampler(g, seed=10_000), t0, mix, synthetic_plan(counts, mix.ratio)))
    top = Recipe(ratio=0.5, filter="teacher", labels="soft", refresh=5, distill=True)

    def distill(t, augment=None) -> Job:
        return Job(x, y, augment=augment, relabel=distill_labels(t, 1.0), mixup=MIXUP_ALPHA)

    def arms(seed: int) -> dict[str, Job]:
        stream = recipe_stream(Sampler(g, seed=seed), t2, top, synthetic_plan(counts, top.ratio))
        return {
            "classical": Job(x, y, augment=aug),
            "distill T0": distill(t0),
            "distill T1": distill(t1),
            "distill T2": distill(t2),
            "distill T2 + synthetic": recipe_job(x, y, stream, top, t2),
            "classical + distill T1": distill(t1, aug),
            "classical + distill T2": distill(t2, aug),
        }

    pairs = [("distill T2", "distill T1"), ("classical + distill T2", "classical + distill T1"),
             ("distill T2 + synthetic", "distill T1"), ("distill T1", "distill T0")]  # fmt: skip
    return arms, pairs, {"T0": t0, "T1": t1, "T2": t2}


def generator_arms(g, others: list, x, y, aug):
    """The arms of the ``generators`` lever: generator A and each generator B (B1, B2, ... when there are several)."""
    import torch

    from ganaug.downstream.recipe import Recipe, synthetic_plan
    from ganaug.downstream.teacher import Teacher
    from ganaug.evaluation.arms import MIXUP_ALPHA, Job, distill_labels, recipe_job, recipe_stream
    from ganaug.generation.sampling import Sampler

    counts = torch.bincount(y, minlength=g.num_classes).tolist()
    t = Teacher.train(x, y, class_names=g.class_names, epochs=30)
    hard = Recipe(ratio=1.0, filter="teacher", refresh=5)
    on_top = Recipe(ratio=1.0, filter="teacher", labels="soft", refresh=5, distill=True)
    names = ["B"] if len(others) == 1 else [f"B{i + 1}" for i in range(len(others))]

    def with_recipe(gen, recipe: Recipe, seed: int):
        return recipe_job(x, y, recipe_stream(Sampler(gen, seed=seed), t, recipe, synthetic_plan(counts, recipe.ratio)),
                          recipe, t, augment=aug)  # fmt: skip

    def arms(seed: int) -> dict:
        return {
            "classical": Job(x, y, augment=aug),
            "classical + distill": Job(x, y, augment=aug, relabel=distill_labels(t, 1.0), mixup=MIXUP_ALPHA),
            "A: classical + ganaug": with_recipe(g, hard, seed),
            **{f"{n}: classical + ganaug": with_recipe(gb, hard, seed) for n, gb in zip(names, others, strict=True)},
            "A: classical + distill + ganaug": with_recipe(g, on_top, seed),
        }

    a = "A: classical + ganaug"
    pairs = [(a, "classical"), (a, "classical + distill")]
    for n in names:
        pairs += [(a, f"{n}: classical + ganaug"), (f"{n}: classical + ganaug", "classical")]
    pairs.append(("A: classical + distill + ganaug", "classical + distill"))
    return arms, pairs, {"teacher": t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lever", choices=("teacher", "generators"))
    ap.add_argument("--dataset", choices=("breastmnist", "retinamnist"), default="retinamnist")
    ap.add_argument("--regime", choices=sorted(FRACTIONS), default="small")
    ap.add_argument("--model", required=True, help="the run or export measured (generator A)")
    ap.add_argument("--model-b", action="append", help="generator B (the generators lever; repeat for B1, B2, ...)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--clf-steps", type=int, default=500)
    ap.add_argument("--teacher-steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="processes for the seeds (one thread each); 0 = one per core")
    ap.add_argument("--out", help="write every arm's per-seed scores here (JSON)")
    args = ap.parse_args()

    import torch

    from ganaug.downstream.recipe import Recipe
    from ganaug.downstream.uplift import bootstrap_uplift, fmt, paired_uplift, scores
    from ganaug.downstream.workers import map_seeds, resolve_jobs
    from ganaug.evaluation.arms import classical_augment
    from ganaug.evaluation.evaluate import prepare
    from ganaug.hub.sources import load_generator

    torch.set_num_threads(args.threads)
    data = str(shared_data() / f"medmnist_{args.dataset}" / f"{args.dataset}.npz")
    # evaluate's own data, splits, regime subset and classifier trainer (a plain candidate needs no teacher)
    p = prepare(args.model, data, data, val=data, steps=args.clf_steps, recipes=[Recipe()], device="cpu",
                out=tempfile.mkdtemp(), warn=lambda _: None, **FRACTIONS[args.regime])  # fmt: skip
    g, (x, y), (xv, yv), (xt, yt) = p.g, (p.x_tr, p.y_tr), (p.x_val, p.y_val), (p.held.images, p.y_test)
    aug = classical_augment(p.photometric)
    start = time.perf_counter()
    if args.lever == "teacher":
        arms_of, pairs, teachers = teacher_arms(g, x, y, aug, args.teacher_steps)
    else:
        if not args.model_b:
            raise SystemExit("the generators lever needs --model-b")
        arms_of, pairs, teachers = generator_arms(g, [load_generator(m) for m in args.model_b], x, y, aug)
    sets = ((xv, yv), (xt, yt))
    for name, t in teachers.items():
        v, te = (scores(ty.numpy(), t.probabilities(tx).numpy())["balanced_accuracy"] for tx, ty in sets)
        print(f"teacher {name}: balanced accuracy val {v:.3f}, test {te:.3f} (one training)")
    trainer = p.arms

    def seed_task(s: int) -> dict:
        return {name: trainer.run(job, s, sets) for name, job in arms_of(s).items()}

    def done(s: int) -> None:
        print(f"seed {s} done ({time.perf_counter() - start:.0f} s)", flush=True)

    # --jobs N: N forked processes of one thread each, as evaluate runs its seeds (the results are those of one)
    by_seed = map_seeds(seed_task, range(args.seeds), resolve_jobs(args.jobs, args.seeds, torch.device("cpu")), done)
    res: dict[str, dict[str, list]] = {}
    probs: dict[str, list] = {}
    for s in range(args.seeds):
        for name, ((val, test), (_, test_probs)) in by_seed[s].items():
            r = res.setdefault(name, {"val": [], "test": [], "auc": []})
            r["val"].append(val["balanced_accuracy"])
            r["test"].append(test["balanced_accuracy"])
            r["auc"].append(test["auc"])
            probs.setdefault(name, []).append(test_probs)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "arms": res}, indent=1))
    where = f"{args.dataset} {args.regime}, {args.seeds} paired seeds, {args.clf_steps} steps"
    for name, r in res.items():
        print(f"{name} ({where}): test balanced accuracy {np.mean(r['test']):.3f}, val {np.mean(r['val']):.3f}, "
              f"test AUC {np.mean(r['auc']):.3f}")  # fmt: skip
    for a, b in pairs:
        diff = paired_uplift(res[a]["test"], res[b]["test"])
        boot = bootstrap_uplift(yt.numpy(), probs[a], probs[b])
        ratio = np.mean(res[a]["test"]) / max(1e-9, np.mean(res[b]["test"]))
        print(f"{a} - {b} ({where}): {fmt(diff, signed=True)}, bootstrap {fmt(boot, signed=True)} "
              f"(ratio {ratio:.3f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
