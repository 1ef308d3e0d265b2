"""Sample quality of a `ganaug fit` for a fixed step budget, measured with a classifier trained on the real data.

    python benchmarks/fit_quality.py --dataset breastmnist --steps 2000 [--device auto] [--model RUN]

A small CNN is trained on the real training split. Its penultimate features give a Frechet distance
(FD) between synthetic samples and the real test split, next to the FD between real training and real
test images (the floor: what two real samples of the data score). Its accuracy on synthetic samples,
labelled with the class they were generated for, is printed next to its accuracy on the real test split.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import mnist_npz, shared_data  # noqa: E402


class SmallCNN(nn.Module):
    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(128, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier(x: torch.Tensor, y: torch.Tensor, classes: int, epochs: int, device: str) -> SmallCNN:
    torch.manual_seed(0)
    net = SmallCNN(x.shape[1], classes).to(device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    weights = (1.0 / torch.bincount(y, minlength=classes).clamp(min=1).float()).to(device)
    for _ in range(epochs):
        for idx in torch.randperm(len(y)).split(64):
            loss = nn.functional.cross_entropy(net(x[idx].to(device)), y[idx].to(device), weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def features_and_predictions(net: SmallCNN, x: torch.Tensor, device: str) -> tuple[np.ndarray, np.ndarray]:
    feats, preds = [], []
    for chunk in x.split(256):
        f = net.features(chunk.to(device))
        feats.append(f.cpu())
        preds.append(net.head(f).argmax(1).cpu())
    return torch.cat(feats).double().numpy(), torch.cat(preds).numpy()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


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
    k = train.config.num_classes
    if args.model:
        model = args.model
    else:
        run = ganaug.fit(data, arch=args.arch, steps=args.steps, device=args.device, out=out, name=args.dataset)
        model = str(run.path)
        print(f"run folder: {run.path}")
    g = ganaug.load_generator(model, device=device)
    net = train_classifier(train.images, train.labels, k, args.epochs, device)
    labels = test.labels.tolist()  # as many synthetic samples per class as the test split has
    fake = g.generate(labels, seed=0)
    f_test, p_test = features_and_predictions(net, test.images, device)
    f_train, _ = features_and_predictions(net, train.images, device)
    f_fake, p_fake = features_and_predictions(net, fake, device)
    y = np.array(labels)
    fd_real, fd_fake = frechet(f_train, f_test), frechet(f_fake, f_test)
    acc_real, acc_fake = balanced_accuracy(p_test, y), balanced_accuracy(p_fake, y)
    name = f"{args.dataset} {g.config['arch']} {g.config['training'].get('steps_done')} steps"
    print(f"feature FD real train vs real test ({name}): {fd_real:.3f}")
    print(f"feature FD ganaug vs real test ({name}): {fd_fake:.3f} (ratio {fd_fake / max(fd_real, 1e-9):.2f}x of real)")
    print(f"classifier balanced accuracy on real test ({name}): {acc_real:.3f}")
    print(f"classifier balanced accuracy on ganaug samples ({name}): {acc_fake:.3f} (ratio {acc_fake / acc_real:.2f}x)")


if __name__ == "__main__":
    main()
