"""The set-up of a fit before its first GAN step: the teacher classifier and the fit-time feature extractor, the way
a 10-minute ``ganaug fit`` on a CPU trains them, against the way it trained them before (same run, same data).

    python benchmarks/fit_setup.py [--dataset breastmnist retinamnist fsdd] [--budget 600]

reference: the teacher's two trainings (scored on a held-out fifth, exported) one after the other, then a second
network of the same kind trained as the feature extractor, each cut to 15% of --budget (as before).
ganaug: the teacher's two trainings side by side in two processes, the teacher saved as the extractor.
Prints one line per figure: seconds of each, the ratio, and the share of the budget each leaves to the GAN.
Run it alone on the machine (two cores). FSDD is the official training split (2700 clips) read as the spectrogram
preset's CPU default reads it (32 mels x 32 frames).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fsdd_split_csvs, shared_data  # noqa: E402

SHARE = 0.15  # the teacher's (and before, the extractor's) share of a --max-time budget


def setup_seconds(data, budget: float, side_by_side: bool, folder: Path) -> tuple[float, dict]:
    """Wall-clock seconds of one set-up and what it trained."""
    from ganaug.downstream.teacher import Teacher
    from ganaug.metrics.extractor import ClassifierExtractor, get_extractor

    start = time.perf_counter()
    names = data.config.class_names
    teacher = Teacher.train(data.images, data.labels, class_names=names, max_seconds=SHARE * budget,
                            jobs=0 if side_by_side else 1)  # fmt: skip
    if side_by_side:
        get_extractor("classifier", data=data, folder=folder, teacher=teacher)
    else:
        ClassifierExtractor.train(data, max_seconds=SHARE * budget).save(folder)
    return time.perf_counter() - start, {"teacher_epochs": teacher.info["epochs"], "held_out": teacher.info["held_out"]}


def read(name: str, tmp: Path):
    """A dataset in model space, as ``ganaug fit`` reads it."""
    from ganaug.config import FitConfig
    from ganaug.data import read_data
    from ganaug.data.options import reader_options
    from ganaug.presets import get_preset

    if name != "fsdd":
        return read_data(shared_data() / f"medmnist_{name}" / f"{name}.npz")
    recordings, train_csv, _ = fsdd_split_csvs(tmp)
    cfg = FitConfig().replace(**get_preset("spectrogram").fit).replace(preset="spectrogram", labels=str(train_csv))
    for group in get_preset("spectrogram").cpu_fit:
        cfg = cfg.replace(**group)
    return read_data(recordings, **reader_options(cfg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", default=["breastmnist", "retinamnist", "fsdd"])
    parser.add_argument("--budget", type=float, default=600.0, help="the fit's --max-time in seconds")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    for name in args.dataset:
        with tempfile.TemporaryDirectory() as tmp:
            data = read(name, Path(tmp))
            ref_s, ref = setup_seconds(data, args.budget, False, Path(tmp) / "ref")
            new_s, new = setup_seconds(data, args.budget, True, Path(tmp) / "new")
        n, what = len(data.labels), "clips" if name == "fsdd" else "images"
        print(f"{name} ({n} {what}): reference set-up {ref_s:.1f} s (teacher {ref['teacher_epochs']} epochs, held-out "
              f"{ref['held_out']['balanced_accuracy']:.3f}) | ganaug {new_s:.1f} s (teacher {new['teacher_epochs']} "
              f"epochs, held-out {new['held_out']['balanced_accuracy']:.3f}) | ratio {ref_s / new_s:.2f}x | budget "
              f"left to the GAN {1 - ref_s / args.budget:.0%} -> {1 - new_s / args.budget:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
