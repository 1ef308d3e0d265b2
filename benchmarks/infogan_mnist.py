"""InfoGAN on MNIST, unconditional: how well the categorical code clusters the digits without labels.

    OMP_NUM_THREADS=2 python benchmarks/infogan_mnist.py --steps 5000 [--arch dcgan] [--device auto] [--out DIR]

The MNIST test set (``../shared/data/mnist_t10k``, 10,000 images) is split as ``common.mnist_npz`` splits it: the
first 8,000 images train (as one class: the fit never sees a label), the last 2,000 are held out. Two fits with the
same options and seed, ``--info-codes cat:10,cont:2``: one with the mutual-information weight lambda = 1 (Chen et al.
2016), one with lambda = 0 (the same network whose Q head never learns: the reference a code must beat). The
discriminator's Q head, from the last checkpoint, labels every real image with the categorical code it reads (D's
BatchNorm normalising each batch of 500 real images with its own statistics, as in training); the
clustering accuracy is the share of images whose code maps to their digit under the best one-to-one matching of the
10 code values to the 10 digits (Hungarian method). k-means with 10 clusters on the raw pixels is printed beside it,
as a plain unsupervised reference. The paper reports about 95% on MNIST for lambda = 1 after a long run.

One line per figure; the traversal grids of ``u0`` and ``u1`` of the lambda = 1 fit (a row per value of ``c0``, a
column per value of the continuous code from -1 to 1) are written as PNGs and their paths printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402

CODES = "cat:10,cont:2"
N_TRAIN = 8000


def mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images (N x 28 x 28 uint8) and their digit labels, read from the IDX files."""
    root = shared_data() / "mnist_t10k"
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8).astype(np.int64)
    return images, labels


def unlabelled_npz(out: Path, images: np.ndarray) -> Path:
    """The training images as a single-class .npz (every label 0), so the fit is unconditional."""
    out.parent.mkdir(parents=True, exist_ok=True)
    zeros = np.zeros((N_TRAIN, 1), np.uint8)
    np.savez(out, train_images=images[:N_TRAIN], train_labels=zeros)
    return out


def matched_accuracy(pred: np.ndarray, true: np.ndarray, k: int = 10) -> float:
    """Accuracy of cluster ids ``pred`` against labels ``true`` under the best one-to-one matching."""
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (pred, true), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(true))


@torch.no_grad()
def q_codes(run_path: Path, images: np.ndarray) -> np.ndarray:
    """The categorical code (c0) the run's Q head reads from each real image (D and Q from the last checkpoint)."""
    from ganaug.builders import build_discriminator
    from ganaug.fileio import read_json
    from ganaug.models.info import parse_codes
    from ganaug.training.checkpoint import latest_checkpoint, load_checkpoint, load_module
    from ganaug.training.info_codes import attach_info_head

    resolved = read_json(run_path / "fit_config.json")
    arch_args = resolved["arch_args"]
    d = build_discriminator(resolved["fit"]["arch"], arch_args)
    shape = (arch_args["channels"], arch_args["height"], arch_args["width"])
    attach_info_head(d, parse_codes(arch_args["info_codes"]), shape)
    tensors, _ = load_checkpoint(latest_checkpoint(run_path))
    load_module("D", d, tensors)
    # BatchNorm with the statistics of each batch of 500 real images, as D normalised every batch it trained on
    # (its running statistics mix real and generated batches); no update reaches the run, this copy is thrown away
    d.train()
    x = torch.from_numpy(np.array(images)).float().div(127.5).sub(1.0)[:, None]
    out = [d.info_head(d.feature_map(chunk))[:, :10].argmax(dim=1) for chunk in x.split(500)]  # c0's 10 logits
    return torch.cat(out).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=62, help="noise size besides the codes (62 in the paper)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="folder for the runs and grids (default: a temp folder)")
    args = parser.parse_args()

    import ganaug
    from ganaug.generation.grid import save_grid

    out = Path(args.out or tempfile.mkdtemp())
    images, labels = mnist()
    data = str(unlabelled_npz(out / "mnist-unlabelled.npz", images))
    opts = dict(arch=args.arch, steps=args.steps, batch_size=args.batch_size, latent_dim=args.latent_dim,
                info_codes=CODES, seed=args.seed, device=args.device, teacher_epochs=0, out=out,
                sample_every=max(1, args.steps // 4), checkpoint_every=args.steps, progress=False)  # fmt: skip
    figures = {}
    for lam in (1.0, 0.0):
        t0 = time.perf_counter()
        run = ganaug.fit(data, **opts, info_weight=lam, name=f"infogan-lambda{lam:g}")
        took = time.perf_counter() - t0
        codes = q_codes(run.path, images)
        figures[lam] = (matched_accuracy(codes[:N_TRAIN], labels[:N_TRAIN]),
                        matched_accuracy(codes[N_TRAIN:], labels[N_TRAIN:]))  # fmt: skip
        log = run.path / "log.jsonl"
        last = [line for line in log.read_text().splitlines() if "loss_info" in line][-1]
        print(f"fit lambda={lam:g}: {args.steps} steps of {args.arch} in {took:.0f} s, run {run.path}")
        print(f"final generator MI loss, lambda={lam:g}: {json.loads(last)['loss_info']:.3f}")
        if lam == 1.0:
            g = ganaug.load_generator(run.path)
            for code in ("u0", "u1"):
                grid, ncol, rows = g.traversal(code)
                path = save_grid(grid, ncol, out / f"infogan-mnist-{args.steps}steps-{code}.png", row_labels=rows)
                print(f"traversal grid of {code} (rows: c0 = 0..9, columns: {code} from -1 to 1): {path}")
    from sklearn.cluster import KMeans

    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    km = KMeans(n_clusters=10, n_init=4, random_state=args.seed).fit(pixels[:N_TRAIN])
    kmeans = (matched_accuracy(km.labels_, labels[:N_TRAIN]), matched_accuracy(km.predict(pixels[N_TRAIN:]),
                                                                               labels[N_TRAIN:]))  # fmt: skip
    for i, split in enumerate(("training 8000 (unlabelled in the fit)", "held-out 2000")):
        print(f"clustering accuracy of c0, lambda=1, {split}: {figures[1.0][i]:.3f}")
        print(f"clustering accuracy of c0, lambda=0 (reference), {split}: {figures[0.0][i]:.3f}")
        print(f"clustering accuracy of k-means on pixels (reference), {split}: {kmeans[i]:.3f}")
    print(f"ratio lambda=1 / lambda=0, held-out: {figures[1.0][1] / max(figures[0.0][1], 1e-9):.2f}")
    print(f"ratio lambda=1 / k-means, held-out: {figures[1.0][1] / max(kmeans[1], 1e-9):.2f}")


if __name__ == "__main__":
    main()
