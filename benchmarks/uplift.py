"""Downstream uplift of ganaug samples on MedMNIST and FSDD, official splits: the arms of `ganaug evaluate`.

    python benchmarks/uplift.py --dataset breastmnist --regime small [--seeds 10] [--model RUN]
    python benchmarks/uplift.py --dataset fsdd --seeds 5 --clf-steps 300 [--model RUN]

FSDD (spoken digits as log-mel spectrograms, the spectrogram preset: 32x32 on a CPU, 64x64 on a GPU): recordings 0-4
of each speaker and digit are the test set, 5-49 the training set, labelled by CSVs written into --out; validation is
carved from the training part (FSDD has no val split): the fit leaves it out (`--holdout`, 0.2), so that the
recipe is chosen on clips the generator never saw.

Regimes: `full` (the official train split), `small` (a stratified 10% of it), `imbalanced` (every class but the
largest cut to 10%); the generator is trained on the regime's subset only, with ganaug's defaults for the medical
preset (spectrogram for FSDD; or --model is measured). Then `ganaug evaluate` runs with the official val split for
choosing the recipe (MedMNIST) and the official test split for the scores. The figure this project lives by is
ganaug's uplift in balanced accuracy over the strongest control.
For scale, the MedMNIST v2 paper's ResNet-18 (28) test accuracy: BreastMNIST 0.863, RetinaMNIST 0.524.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fsdd_split_csvs, shared_data  # noqa: E402

PAPER_RESNET18_28 = {"breastmnist": 0.863, "retinamnist": 0.524}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=[*sorted(PAPER_RESNET18_28), "fsdd"], default="breastmnist")
    parser.add_argument("--regime", choices=("full", "small", "imbalanced"), default="full")
    parser.add_argument("--fraction", type=float, default=0.1, help="the small/imbalanced regime's fraction")
    parser.add_argument("--steps", type=int, default=0, help="generator training steps; 0 = ganaug's default "
                        "(on a CPU a 10-minute budget for 28x28 images, else 5000 steps)")  # fmt: skip
    parser.add_argument("--max-time", default="", help="the fit's --max-time (e.g. 20m); default: ganaug's (auto)")
    parser.add_argument("--arch", default="", help="generator architecture (default: the preset's, for this machine)")
    parser.add_argument("--ch", type=int, default=0, help="generator width; 0 = the preset's or architecture's")
    parser.add_argument("--batch-size", type=int, default=0, help="generator batch size; 0 = ganaug's default")
    parser.add_argument("--model", help="an existing run/export to measure instead of training one")
    parser.add_argument("--seeds", type=int, default=10, help="classifier trainings per arm (paired seeds)")
    parser.add_argument("--epochs", type=int, default=30, help="classifier epochs (sets the steps, at least 500)")
    parser.add_argument("--clf-steps", type=int, default=0, help="classifier steps per training; 0 = from --epochs")
    parser.add_argument("--ratios", default="1", help="synthetic-per-real ratios of the default recipes")
    parser.add_argument(
        "--recipes", default="", help="candidate recipes, a JSON list of recipe fields, e.g. "
        '\'[{"ratio": 1, "filter": "teacher", "labels": "soft", "distill": true}]\' (default: evaluate\'s own)'
    )  # fmt: skip
    parser.add_argument("--eval-out", default=None, help="folder for evaluation.json/.md (default: the export)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="folder for the run (default: a temp folder)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    parser.add_argument("--jobs", type=int, default=0, help="evaluate's worker processes; 0 = one per core")
    parser.add_argument("--no-quality", action="store_true", help="skip FID/KID/PRDC/CAS")
    parser.add_argument("--holdout", type=float, default=0.2, help="FSDD: the fit's --holdout (evaluate's validation)")
    args = parser.parse_args()

    import torch

    import ganaug
    from ganaug.downstream.recipe import Recipe
    from ganaug.evaluation.evaluate import evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    from ganaug.downstream.uplift import PRIMARY, fmt

    out = Path(args.out or tempfile.mkdtemp())
    if args.dataset == "fsdd":
        recordings, train_csv, test_csv = fsdd_split_csvs(out)
        data, preset = str(recordings), "spectrogram"
        fit_extra = {"labels": str(train_csv), "holdout": args.holdout}
        eval_extra = {"labels": str(train_csv), "test_labels": str(test_csv)}
    else:
        data, preset = str(shared_data() / f"medmnist_{args.dataset}" / f"{args.dataset}.npz"), "medical"
        fit_extra, eval_extra = {}, {"val": data}
    start = time.perf_counter()
    fractions = {
        "full": {},
        "small": {"train_fraction": args.fraction},
        "imbalanced": {"minority_fraction": args.fraction},
    }[args.regime]
    if args.model:
        model = args.model
    else:
        # only the options given are passed: a passed option counts as the user's, and the preset's defaults for
        # this machine (on a CPU: a cheaper network for a time budget) apply only to options the user left alone
        given = {"steps": args.steps, "arch": args.arch, "ch": args.ch, "batch_size": args.batch_size,
                 "max_time": args.max_time}  # fmt: skip
        given = {k: v for k, v in given.items() if v}
        run = ganaug.fit(
            data, preset=preset, device=args.device, out=out,
            name=f"{args.dataset}-{args.regime}-{args.arch or 'default'}-{args.steps or args.max_time or 'default'}",
            **given, **fractions, **fit_extra,
        )  # fmt: skip
        model = str(run.path)
        fit_s = time.perf_counter() - start
        threads = torch.get_num_threads()
        arch = json.loads((run.path / "fit_config.json").read_text())["fit"]["arch"]
        print(f"run folder: {run.path} ({arch}, {run.steps_done} steps, {fit_s:.0f} s, {threads} threads)")
    recipes = [Recipe.from_dict(d) for d in json.loads(args.recipes)] if args.recipes else None
    t0 = time.perf_counter()
    result = evaluate(
        model, data, data, seeds=args.seeds, epochs=args.epochs, steps=args.clf_steps, device=args.device,
        jobs=args.jobs, recipes=recipes, out=args.eval_out,
        ratios=tuple(float(r) for r in args.ratios.split(",")), quality=not args.no_quality, **fractions,
        **eval_extra,
    )  # fmt: skip
    print(f"evaluation: {time.perf_counter() - t0:.0f} s")
    print(result["markdown"])
    name = f"{args.dataset} {args.regime}, {args.seeds} seeds, {result['steps']} steps"
    for control, u in result["uplift"].items():
        figure, boot = fmt(u[PRIMARY], signed=True), fmt(u["bootstrap"], signed=True)
        print(f"ganaug uplift in balanced accuracy over {control} ({name}): {figure}, bootstrap {boot} -> "
              f"{u['verdict']}")  # fmt: skip
    cg = result["classical_plus_ganaug_vs_classical"]
    print(f"classical + ganaug over classical ({name}): {fmt(cg[PRIMARY], signed=True)} -> {cg['verdict']}")
    print(
        f"recommended recipe: {result['recipe']['name'] if result['recipe']['add'] else 'add nothing'} "
        f"({result['recipe']['reason']})"
    )
    real_acc = result["arms"]["real"]["summary"]["accuracy"]["mean"]
    if args.dataset in PAPER_RESNET18_28:
        paper = PAPER_RESNET18_28[args.dataset]
        print(f"real-only test accuracy vs MedMNIST v2 ResNet-18 (28) ({name}): {real_acc:.3f} vs {paper:.3f} "
              f"(ratio {real_acc / paper:.2f}x)")  # fmt: skip
    if result.get("quality"):
        q = result["quality"]
        print(f"FID vs test ({q['extractor']}): {q['fid']:.3f}; precision {q.get('precision', 0):.3f}, "
              f"recall {q.get('recall', 0):.3f}; CAS balanced acc. {q['cas']['balanced_accuracy']:.3f}")  # fmt: skip
    print(f"total: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
