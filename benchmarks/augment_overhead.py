"""One DataLoader epoch over MNIST (10,000 images, 28x28) with a classical pipeline, without and with
GANAugment(p=0.5) in front of it, at num_workers 0 and 2; measured in the same run.

    python benchmarks/augment_overhead.py [--model MODEL] [--arch dcgan] [--ch 0] [--repeats 3] [--threads 1]

Without --model it first trains a generator of --arch (its default size) for a few steps: the time per
sample does not depend on how well it is trained. Prints one line per figure: seconds per epoch (median of
--repeats epochs) and the ratio to the classical pipeline alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from augment_common import add_model_options, mnist_items, mnist_model, work_dir  # noqa: E402


def epoch_seconds(items: list, pipeline, workers: int) -> float:
    import torch
    from torch.utils.data import DataLoader

    from ganaug import TransformedDataset

    loader = DataLoader(TransformedDataset(items, pipeline), batch_size=128, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    n = sum(len(labels) for _, labels in loader)
    assert n == len(items)
    torch.cuda.synchronize() if torch.cuda.is_available() else None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--repeats", type=int, default=3, help="epochs per configuration (the median is shown)")
    args = parser.parse_args()

    import torch
    from torchvision.transforms import v2

    import ganaug

    torch.set_num_threads(args.threads)
    work = work_dir()
    npz, items = mnist_items(work)
    model = mnist_model(work, npz, args.model, args.arch, args.steps, args.ch)
    classical = [
        v2.RandomCrop(28, padding=2),
        v2.RandomRotation(10),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize((0.1307,), (0.3081,)),
    ]
    plain = v2.Compose(classical)
    augmented = v2.Compose([ganaug.GANAugment(model, p=0.5), *classical])
    print(f"generator: {ganaug.load_generator(model)}; {len(items)} images, torch threads {torch.get_num_threads()}")
    for workers in (0, 2):
        times = {"plain": [], "gan": []}
        for _ in range(args.repeats):  # alternate, so that drifts in machine load hit both alike
            times["plain"].append(epoch_seconds(items, plain, workers))
            times["gan"].append(epoch_seconds(items, augmented, workers))
        base, gan = statistics.median(times["plain"]), statistics.median(times["gan"])
        print(f"epoch, classical pipeline, num_workers={workers}: {base:.3f} s (ratio 1.00x)")
        print(f"epoch, GANAugment(p=0.5) + classical, num_workers={workers}: {gan:.3f} s (ratio {gan / base:.2f}x)")


if __name__ == "__main__":
    main()
