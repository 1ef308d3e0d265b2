"""Sample quality of a `ganaug fit` for a fixed step budget, measured with a classifier trained on the real data.

    python benchmarks/fit_quality.py --dataset breastmnist --steps 2000 [--device auto] [--model RUN]

ganaug.metrics' classifier extractor (a small ResNet trained on the real training split) gives a Frechet
distance (FD, torchmetrics) between synthetic samples and the real test split, next to the FD between real
training and real test images (the floor: what two real samples of the data score). Its accuracy on synthetic
samples, labelled with the class they were generated for, is printed next to its accuracy on the real test split.
Every figure names the extractor; `ganaug evaluate` gives the full quality report and the downstream uplift.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import mnist_npz, shared_data  # noqa: E402


def balanced_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[true == c] == c) for c in np.unique(true)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["breastmnist", "retinamnist", "mnist"], default="breastmnist")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--arch", default="biggan")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", help="an existing run/export to measure instead of training one")
    parser.add_argument("--out", default=None, help="folder for the run (default: a temp folder)")
    parser.add_argument("--epochs", type=int, default=15, help="classifier epochs")
    args = parser.parse_args()

    import ganaug
    from ganaug.data import read_data

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    out = Path(args.out or tempfile.mkdtemp())
    if args.dataset == "mnist":
        data = str(mnist_npz(out / "mnist.npz"))
    else:
        data = str(shared_data() / f"medmnist_{args.dataset}" / f"{args.dataset}.npz")
    train, test = read_data(data, split="train"), read_data(data, split="test")
    if args.model:
        model = args.model
    else:
        run = ganaug.fit(data, arch=args.arch, steps=args.steps, device=args.device, out=out, name=args.dataset)
        model = str(run.path)
        print(f"run folder: {run.path}")
    g = ganaug.load_generator(model, device=device)
    from ganaug.metrics import fid
    from ganaug.metrics.extractor import ClassifierExtractor

    ex = ClassifierExtractor.train(train, epochs=args.epochs, device=device)
    labels = test.labels.tolist()  # as many synthetic samples per class as the test split has
    fake = g.generate(labels, seed=0)
    f_test, f_train, f_fake = ex(test.images), ex(train.images), ex(fake)
    p_test, p_fake = ex.logits(test.images).argmax(1).numpy(), ex.logits(fake).argmax(1).numpy()
    y = np.array(labels)
    fd_real, fd_fake = fid(f_train, f_test), fid(f_fake, f_test)
    acc_real, acc_fake = balanced_accuracy(p_test, y), balanced_accuracy(p_fake, y)
    name = f"{args.dataset} {g.config['arch']} {g.config['training'].get('steps_done')} steps, {ex.name}"
    print(f"feature FD real train vs real test ({name}): {fd_real:.3f}")
    print(f"feature FD ganaug vs real test ({name}): {fd_fake:.3f} (ratio {fd_fake / max(fd_real, 1e-9):.2f}x of real)")
    print(f"classifier balanced accuracy on real test ({name}): {acc_real:.3f}")
    print(f"classifier balanced accuracy on ganaug samples ({name}): {acc_fake:.3f} (ratio {acc_fake / acc_real:.2f}x)")


if __name__ == "__main__":
    main()
