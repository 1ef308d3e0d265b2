"""Images/s of `ganaug fit` (logging, EMA, adaptive augmentation on) against a plain
hand-written PyTorch loop of the same networks, batch and loss (float32 on CPU, as such loops are written), measured
in the same run; and the peak memory (RSS) of each, each in its own process. ganaug runs twice: at its default
precision (bf16 on CPUs with native bf16) and at ``--precision fp32`` (the like-for-like overhead).

    python benchmarks/fit_throughput.py [--arch biggan] [--resolution 32] [--batch 64] [--steps 60]

Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402


def plain_loop(args: argparse.Namespace, data: str) -> float:
    """The reference: the same G and D, Adam, the same loss, random real batches, nothing else."""
    import torch

    from ganaug.builders import ARCHS, LOSSES, build_discriminator, build_generator
    from ganaug.data import read_data

    torch.manual_seed(0)
    dev = torch.device(
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    cuda = dev.type == "cuda"
    fmt = torch.channels_last if cuda else torch.contiguous_format
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda)  # what ganaug uses on CUDA
    d = read_data(data, resolution=args.resolution)
    entry = ARCHS.get(args.arch)
    arch_args = dict(
        latent_dim=128,
        num_classes=d.config.num_classes,
        channels=d.config.channels,
        height=d.config.height,
        width=d.config.width,
        ch=entry.defaults["ch"],
    )
    G = build_generator(args.arch, arch_args).to(dev, memory_format=fmt)
    D = build_discriminator(args.arch, arch_args).to(dev, memory_format=fmt)
    images, labels = d.images.to(dev), d.labels.to(dev)
    loss = LOSSES.get(entry.defaults["loss"]).cls()
    beta1 = entry.defaults["beta1"]
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(beta1, 0.999))
    n, k = len(d.labels), d.config.num_classes

    def step() -> None:
        idx = torch.randint(n, (args.batch,), device=dev)
        real, y = images[idx].contiguous(memory_format=fmt), labels[idx]
        z, yf = torch.randn(args.batch, 128, device=dev), torch.randint(k, (args.batch,), device=dev)
        D.requires_grad_(True)
        with torch.no_grad(), autocast:
            fake = G(z, yf)
        with autocast:
            ld = loss.d_loss(D(real, y).float(), D(fake, yf).float())
        opt_d.zero_grad()
        ld.backward()
        opt_d.step()
        z, yf = torch.randn(args.batch, 128, device=dev), torch.randint(k, (args.batch,), device=dev)
        D.requires_grad_(False)  # no D weight gradients in the G phase, as in any careful loop
        with autocast:
            lg = loss.g_loss(D(G(z, yf), yf).float())
        opt_g.zero_grad()
        lg.backward()
        opt_g.step()

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    return args.steps * args.batch / (time.perf_counter() - t0)


def ganaug_fit(args: argparse.Namespace, data: str, out: Path, precision: str = "auto") -> float:
    """Images/s of ganaug.fit after warm-up, by wall clock between log points (grids, checkpoints included)."""
    import ganaug

    total = args.warmup + args.steps
    run = ganaug.fit(
        data,
        arch=args.arch,
        device=args.device,
        precision=precision,
        teacher_epochs=0,  # the teacher trains after the loop; it is not part of the step rate
        resolution=str(args.resolution),
        batch_size=args.batch,
        steps=total,
        log_every=1,  # one JSON line per step, so every step is timed
        sample_every=500,  # grids and checkpoints at ganaug's default intervals
        checkpoint_every=1000,
        class_loss="none",  # the same networks and losses as the plain loop it is compared with
        eval_every=0,  # fit-time CAS/FID measurements are not training steps
        out=out,
        name="throughput",
        progress=False,
    )
    log = [json.loads(line) for line in (run.path / "log.jsonl").read_text().splitlines()]
    # images/s between log points is the wall time of everything the loop does at each step (logging, EMA,
    # adaptive augmentation, finiteness checks); the last step, which writes the final grid and checkpoint, is left out
    rates = [r["images_per_s"] for r in log[args.warmup : -1]]
    return len(rates) / sum(1.0 / r for r in rates)  # total images / total time


def child(mode: str, args: argparse.Namespace, data: str, out: Path) -> float:
    if mode == "plain":
        return plain_loop(args, data)
    return ganaug_fit(args, data, out, "fp32" if mode == "ganaug-fp32" else "auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="biggan")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--data", default=None, help="DATA to train on (default: the CIFAR-10 subset)")
    parser.add_argument("--child", choices=["plain", "ganaug", "ganaug-fp32"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data or str(shared_data() / "cifar10_test_subset")
    if args.child:
        rate = child(args.child, args, data, Path(tempfile.mkdtemp()))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rate": rate, "rss_mb": rss}))
        return
    results = {}
    modes = ("plain", "ganaug", "ganaug-fp32")
    for mode in modes + modes:  # interleaved, so drift in machine load hits all
        cmd = [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--arch",
            args.arch,
            "--resolution",
            str(args.resolution),
            "--batch",
            str(args.batch),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--data",
            data,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results.setdefault(mode, []).append(json.loads(out))
    plain = max(r["rate"] for r in results["plain"])
    ours = max(r["rate"] for r in results["ganaug"])
    ours32 = max(r["rate"] for r in results["ganaug-fp32"])
    rss_plain = max(r["rss_mb"] for r in results["plain"])
    rss_ours = max(r["rss_mb"] for r in results["ganaug"])
    setup = f"{args.arch} {args.resolution}x{args.resolution} batch {args.batch} on {args.device}"
    print(f"plain loop images/s ({setup}): {plain:.1f}")
    print(f"ganaug fit images/s ({setup}): {ours:.1f} (ratio {ours / plain:.2f}x of plain loop; target >= 0.90x)")
    print(f"ganaug fit --precision fp32 images/s ({setup}): {ours32:.1f} (ratio {ours32 / plain:.2f}x of plain loop)")
    print(f"plain loop peak RSS: {rss_plain:.0f} MB")
    print(f"ganaug fit peak RSS: {rss_ours:.0f} MB (ratio {rss_ours / rss_plain:.2f}x of plain loop; target < 2048 MB)")


if __name__ == "__main__":
    main()
