"""The cost of synthetic samples measured against a real training step: epochs of a small ResNet (forward, backward,
AdamW) on MNIST with a classical pipeline, and with GANAugment(p=0.5) on each item, on each collated batch, and on
each batch with reuse=4 (each class's pool of samples gone through 4 times before it is redrawn); same run.

    python benchmarks/augment_step.py [--model MODEL] [--arch biggan] [--images 2560] [--repeats 3] [--threads 1]

Without --model it first trains a generator of --arch (its default size) for a few steps: the time per sample does
not depend on how well it is trained. Prints one line per figure: seconds per epoch (median of --repeats) and the
ratio to the classical pipeline alone (the issue's target: <= 1.25x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from augment_common import mnist_items, mnist_model, work_dir  # noqa: E402


def epoch_seconds(items: list, item_pipeline, batch_transform, threads: int) -> float:
    """One epoch: DataLoader (main process), the optional batch transform, then a training step per batch."""
    import torch
    from torch.utils.data import DataLoader

    from ganaug import TransformedDataset
    from ganaug.downstream.classifier import SmallResNet

    torch.manual_seed(0)
    net = SmallResNet(1, 10, 28, 28).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), 2e-3)
    loader = DataLoader(TransformedDataset(items, item_pipeline), batch_size=64, shuffle=True, num_workers=0)
    start = time.perf_counter()
    for images, labels in loader:
        if batch_transform is not None:
            images, labels = batch_transform(images, labels)
        loss = torch.nn.functional.cross_entropy(net(images.contiguous(memory_format=torch.channels_last)), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a ganaug model; default: train one here")
    parser.add_argument("--arch", default="biggan", help="architecture to train when no --model is given")
    parser.add_argument("--steps", type=int, default=20, help="training steps when no --model is given")
    parser.add_argument("--images", type=int, default=2560, help="MNIST images per epoch")
    parser.add_argument("--repeats", type=int, default=3, help="epochs per configuration (the median is shown)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    import torch
    from torchvision.transforms import v2

    import ganaug

    torch.set_num_threads(args.threads)
    work = work_dir()
    npz, items = mnist_items(work)
    items = items[: args.images]
    model = mnist_model(work, npz, args.model, args.arch, args.steps)
    to_tensor = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    classical = v2.Compose([v2.RandomCrop(28, padding=2), *to_tensor])
    per_item = v2.Compose([ganaug.GANAugment(model, p=0.5, recipe=None), v2.RandomCrop(28, padding=2), *to_tensor])
    configs = {
        "classical pipeline": (classical, None),
        "GANAugment(p=0.5) per item + classical": (per_item, None),
        "classical + GANAugment(p=0.5) on the batch": (classical, ganaug.GANAugment(model, p=0.5, recipe=None)),
        "classical + GANAugment(p=0.5, reuse=4) on the batch": (
            classical,
            ganaug.GANAugment(model, p=0.5, recipe=None, reuse=4),
        ),
    }
    print(f"generator: {ganaug.load_generator(model)}; {len(items)} images, batch 64, torch threads {args.threads}")
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeats):  # alternate, so that drifts in machine load hit all alike
        for name, (pipeline, batch) in configs.items():
            times[name].append(epoch_seconds(items, pipeline, batch, args.threads))
    base = statistics.median(times["classical pipeline"])
    for name, values in times.items():
        t = statistics.median(values)
        print(f"epoch with a training step, {name}: {t:.2f} s (ratio {t / base:.2f}x)")


if __name__ == "__main__":
    main()
