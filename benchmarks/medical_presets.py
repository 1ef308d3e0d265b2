"""The medical preset on BreastMNIST and RetinaMNIST: a fit for a fixed budget, per-class sample grids, and the
balanced accuracy of a small classifier trained on real data only vs on real + class-balancing ganaug samples.

    python benchmarks/medical_presets.py [--datasets breastmnist,retinamnist] [--steps 600] [--arch dcgan] [--ch 32]
                                         [--clf-steps 200] [--seeds 3] [--threads 1] [--out runs/bench-medical]

For each dataset: ``ganaug fit DATA.npz --preset medical`` on the official train split; grids of real and synthetic
samples for each class; then the same SmallResNet (``ganaug.downstream.classifier``) is trained ``--seeds`` times per
arm for
``--clf-steps`` steps (batch 64), always on the train split's real images, and scored on the official test split:

- real: the real training images;
- real + duplicates: minority classes topped up to the largest class with duplicated real images (the control);
- real + ganaug: minority classes topped up to the largest class with synthetic images (class-balanced).

The defaults fit a 10-minute budget on 2 CPU cores: dcgan with ``--ch 32`` instead of the default biggan, and
one torch thread (on a shared 2-core machine two threads spend most of their time waiting for each other).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402


def balanced_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[true == c] == c) for c in np.unique(true)]))


def top_up(labels: torch.Tensor, k: int) -> list[int]:
    """How many samples each class needs to reach the largest class."""
    counts = torch.bincount(labels, minlength=k)
    return (counts.max() - counts).tolist()


def duplicates(labels: torch.Tensor, need: list[int], seed: int) -> torch.Tensor:
    """Indices of real samples drawn with replacement from each class, ``need[c]`` of class c."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c, n in enumerate(need):
        pool = torch.nonzero(labels == c).flatten()
        picks.append(pool[torch.randint(len(pool), (n,), generator=gen)])
    return torch.cat(picks)


def classify(x, y, test_x, test_y, k: int, steps: int, seed: int) -> float:
    from ganaug.downstream.classifier import SmallResNet, predict_proba, seed_everything, train_classifier

    seed_everything(seed)
    net = SmallResNet(x.shape[1], k, x.shape[2], x.shape[3])
    net = train_classifier(net, x, y, epochs=1, min_steps=steps, seed=seed, batch_size=64)  # ~steps updates
    return balanced_accuracy(predict_proba(net, test_x).argmax(1), test_y.numpy())


def save_class_grids(g, real, out: Path, name: str) -> list[Path]:
    from ganaug.generation.grid import save_grid

    paths = []
    for c, cname in enumerate(g.class_names):
        pool = real.images[real.labels == c][:16]
        paths.append(save_grid(pool, 8, out / f"{name}_class{cname}_real.png"))
        paths.append(save_grid(g.sample(c, 32, seed=1), 8, out / f"{name}_class{cname}_ganaug.png"))
    return paths


def run_dataset(name: str, args: argparse.Namespace, out: Path) -> None:
    import ganaug
    from ganaug.data import read_data

    npz = shared_data() / f"medmnist_{name}" / f"{name}.npz"
    t0 = time.perf_counter()
    run = ganaug.fit(
        npz, preset="medical", arch=args.arch, ch=args.ch, steps=args.steps, batch_size=64,
        sample_every=args.steps, checkpoint_every=args.steps, out=out / "runs", name=name, progress=False,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - t0
    g = run.load_generator()
    train, test = read_data(npz, split="train"), read_data(npz, split="test")
    k = g.num_classes
    grids = save_class_grids(g, train, out, name)
    need = top_up(train.labels, k)
    arms: dict[str, list[float]] = {"real": [], "real + duplicates": [], "real + ganaug": []}
    for seed in range(args.seeds):
        dup = duplicates(train.labels, need, seed)
        fake_y = torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(need)])
        fake_x = g.generate(fake_y.tolist(), seed=100 + seed)
        x, y = train.images, train.labels
        sets = {
            "real": (x, y),
            "real + duplicates": (torch.cat([x, x[dup]]), torch.cat([y, y[dup]])),
            "real + ganaug": (torch.cat([x, fake_x]), torch.cat([y, fake_y])),
        }
        for arm, (x, y) in sets.items():
            arms[arm].append(classify(x, y, test.images, test.labels, k, args.clf_steps, seed))
    label = f"{name} medical preset, {args.arch} ch {args.ch}, {args.steps} steps ({fit_seconds:.0f} s)"
    counts = torch.bincount(train.labels, minlength=k).tolist()
    print(f"{label}: train class counts {counts}, synthetic added per class {need}")
    for arm, values in arms.items():
        v = np.array(values)
        per_seed = ", ".join(f"{a:.3f}" for a in v)
        print(f"{name} test balanced accuracy, {arm}: {v.mean():.3f} +- {v.std():.3f} (seeds: {per_seed})")
    real, fake = np.mean(arms["real"]), np.mean(arms["real + ganaug"])
    print(f"{name} real + ganaug vs real: {fake - real:+.3f} balanced accuracy (ratio {fake / real:.3f}x)")
    print(f"{name} grids: {grids[0].parent}/{name}_class*_{{real,ganaug}}.png; export: {run.export}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="breastmnist,retinamnist")
    parser.add_argument("--steps", type=int, default=600, help="GAN training steps per dataset")
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--ch", type=int, default=32)
    parser.add_argument("--clf-steps", type=int, default=200, help="classifier updates (batch 64) per training")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default="runs/bench-medical", help="grids and runs go here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    start = time.perf_counter()
    for name in args.datasets.split(","):
        run_dataset(name.strip(), args, out)
    print(f"total time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
