"""Samples/s of the buffered Sampler (one sample per call, as a transform draws them) against a naive
per-sample ``G(z, y)`` call, for random classes; measured in the same run on one generator.

    python benchmarks/sampler_throughput.py [--model MODEL] [--arch dcgan] [--ch 0] [--n 3000] [--device cpu]

Without --model it first trains a generator of --arch (its default size) on MNIST for a few steps.
Prints one line per figure with the ratio to the naive call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from augment_common import add_model_options, mnist_model, work_dir  # noqa: E402
from common import mnist_npz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--n", type=int, default=3000, help="samples drawn by each method")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    import torch

    import ganaug
    from ganaug import Sampler

    torch.set_num_threads(args.threads)
    work = work_dir()
    model = mnist_model(work, mnist_npz(work / "mnist.npz"), args.model, args.arch, args.steps, args.ch)
    sampler = Sampler(model, seed=0, device=args.device)
    g = ganaug.load_generator(model, device=args.device)  # the naive reference: the network as loaded
    labels = torch.randint(g.num_classes, (args.n,), generator=torch.Generator().manual_seed(0)).tolist()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    def naive() -> None:
        with torch.no_grad():
            for c in labels:
                z = torch.randn(1, g.latent_dim, device=g.device)
                g.net(z, torch.tensor([c], device=g.device)).float().cpu()

    def buffered() -> None:
        for c in labels:
            sampler.draw(c)

    def batched_forward() -> None:
        sampler.generator.generate(labels[: sampler.batch_size], seed=0)

    for fn in (naive, buffered, batched_forward):  # warm-up: allocator, kernels, buffers of every class
        fn()
    seconds = {}
    for fn in (naive, buffered, naive, buffered):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        seconds[fn.__name__] = min(seconds.get(fn.__name__, float("inf")), time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(20):
        batched_forward()
    sync()
    forward = (time.perf_counter() - start) / 20
    naive_rate, buffered_rate = args.n / seconds["naive"], args.n / seconds["buffered"]
    print(f"generator: {g}; device {args.device}, torch threads {torch.get_num_threads()}")
    print("(the Sampler batches and runs the network channels-last; the reference calls it as loaded)")
    print(f"naive per-sample G(z, y): {naive_rate:,.0f} samples/s (ratio 1.00x)")
    print(
        f"Sampler.draw, buffered batches of {sampler.batch_size}: {buffered_rate:,.0f} samples/s "
        f"(ratio {buffered_rate / naive_rate:.2f}x)"
    )
    per_draw = seconds["buffered"] / args.n
    print(
        f"one draw as a fraction of a batched forward ({sampler.batch_size} samples, {forward * 1e3:.2f} ms): "
        f"{per_draw * 1e3:.3f} ms (ratio {per_draw / forward:.3f}x)"
    )


if __name__ == "__main__":
    main()
