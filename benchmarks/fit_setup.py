"""The set-up of a fit before its first GAN step: the teacher classifier and the fit-time feature extractor, the way
a 10-minute ``ganaug fit`` on a CPU trains them, against the way it trained them before (same run, same data).

    python benchmarks/fit_setup.py [--dataset breastmnist retinamnist] [--budget 600]

reference: the teacher's two trainings (scored on a held-out fifth, exported) one after the other, then a second
network of the same kind trained as the feature extractor, each cut to 15% of --budget (as before).
ganaug: the teacher's two trainings side by side in two processes, the teacher saved as the extractor.
Prints one line per figure: seconds of each, the ratio, and the share of the budget each leaves to the GAN.
Run it alone on the machine (two cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402

SHARE = 0.15  # the teacher's (and before, the extractor's) share of a --max-time budget


def setup_seconds(data, budget: float, side_by_side: bool, folder: Path) -> tuple[float, dict]:
    """Wall-clock seconds of one set-up and what it trained."""
    from ganaug.downstream.teacher import Teacher
    from ganaug.metrics.extractor import ClassifierExtractor, teacher_as_extractor

    start = time.perf_counter()
    names = data.config.class_names
    teacher = Teacher.train(data.images, data.labels, class_names=names, max_seconds=SHARE * budget,
                            jobs=0 if side_by_side else 1)  # fmt: skip
    if side_by_side:
        teacher_as_extractor(teacher, data, folder)
    else:
        ClassifierExtractor.train(data, max_seconds=SHARE * budget).save(folder)
    return time.perf_counter() - start, {"teacher_epochs": teacher.info["epochs"], "held_out": teacher.info["held_out"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", default=["breastmnist", "retinamnist"])
    parser.add_argument("--budget", type=float, default=600.0, help="the fit's --max-time in seconds")
    args = parser.parse_args()

    import torch

    from ganaug.data import read_data

    torch.set_num_threads(2)
    for name in args.dataset:
        data = read_data(shared_data() / f"medmnist_{name}" / f"{name}.npz")
        with tempfile.TemporaryDirectory() as tmp:
            ref_s, ref = setup_seconds(data, args.budget, False, Path(tmp) / "ref")
            new_s, new = setup_seconds(data, args.budget, True, Path(tmp) / "new")
        n = len(data.labels)
        print(f"{name} ({n} images): reference set-up {ref_s:.1f} s (teacher {ref['teacher_epochs']} epochs, held-out "
              f"{ref['held_out']['balanced_accuracy']:.3f}) | ganaug {new_s:.1f} s (teacher {new['teacher_epochs']} "
              f"epochs, held-out {new['held_out']['balanced_accuracy']:.3f}) | ratio {ref_s / new_s:.2f}x | budget "
              f"left to the GAN {1 - ref_s / args.budget:.0%} -> {1 - new_s / args.budget:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
