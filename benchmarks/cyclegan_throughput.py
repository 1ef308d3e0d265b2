"""Training steps/s of `ganaug fit --task cyclegan` against a plain reference loop of the same networks, in one run.

The plain loop is the reference implementation's step, written out: six generator passes (fake, reconstruction and
identity per direction), LSGAN + cycle + identity losses, one Adam step for both generators, then both PatchGAN
discriminators on real and history-pool images (a Python-list pool), random crop/flip of the real images. ganaug's
rate is the one its log records (images/s over each logging interval, so logging and the progress loop count). The
two alternate ``--rounds`` times in this process; the best rate of each is compared.

    python benchmarks/cyclegan_throughput.py [--size 64] [--steps 40] [--rounds 2] [--ch 64] [--threads 1]

Prints one line per figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402


class ListPool:
    """The reference implementation's image pool."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images):
        import torch

        out = []
        for image in images:
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out)


def plain_loop(args: argparse.Namespace, images_a, images_b, arch_args: dict, device) -> float:
    """Steps/s of the reference step on the same networks (built by the same registry, same init)."""
    import torch
    import torch.nn.functional as F

    from ganaug.models.cyclegan import build_patch_discriminators, build_translators

    torch.manual_seed(0)
    g_a, g_b = (n.to(device) for n in build_translators("resnet", arch_args))
    d_a, d_b = (n.to(device) for n in build_patch_discriminators("resnet", arch_args))
    opt_g = torch.optim.Adam(itertools.chain(g_a.parameters(), g_b.parameters()), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(d_a.parameters(), d_b.parameters()), 2e-4, betas=(0.5, 0.999))
    pool_a, pool_b = ListPool(50), ListPool(50)
    cuda = device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda)
    mse, l1 = F.mse_loss, F.l1_loss
    h = w = args.size

    def batch(images):
        idx = torch.randint(len(images), (args.batch,))
        x = F.interpolate(images[idx].to(device), size=(round(h * 286 / 256),) * 2, mode="bilinear")
        t, s = random.randint(0, x.shape[-2] - h), random.randint(0, x.shape[-1] - w)
        x = x[..., t : t + h, s : s + w]
        return x.flip(-1) if random.random() < 0.5 else x

    def step() -> None:
        real_a, real_b = batch(images_a), batch(images_b)
        with autocast:
            fake_b = g_a(real_a)
            rec_a = g_b(fake_b)
            fake_a = g_b(real_b)
            rec_b = g_a(fake_a)
            d_a.requires_grad_(False)
            d_b.requires_grad_(False)
            idt_a, idt_b = g_a(real_b), g_b(real_a)
            pa, pb = d_a(fake_b).float(), d_b(fake_a).float()
            loss_g = mse(pa, torch.ones_like(pa)) + mse(pb, torch.ones_like(pb))
            loss_g = loss_g + 10 * (l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b))
            loss_g = loss_g + 5 * (l1(idt_a.float(), real_b) + l1(idt_b.float(), real_a))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_a.requires_grad_(True)
        d_b.requires_grad_(True)
        opt_d.zero_grad()
        for d, real, fake, pool in ((d_a, real_b, fake_b, pool_b), (d_b, real_a, fake_a, pool_a)):
            with autocast:
                pr, pf = d(real).float(), d(pool.query(fake.detach().float())).float()
                loss_d = 0.5 * (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf)))
            loss_d.backward()
        opt_d.step()

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    return args.steps / (time.perf_counter() - t0)


def ganaug_loop(args: argparse.Namespace, a: Path, b: Path, out: Path, round_: int) -> float:
    """Steps/s of `ganaug.fit` from its log (median over logging intervals after the warm-up)."""
    import ganaug

    steps = args.warmup + args.steps
    run = ganaug.fit(
        [a, b], task="cyclegan", resolution=args.size, ch=args.ch, cyclegan_blocks=args.blocks,
        batch_size=args.batch, steps=steps, log_every=args.log_every, sample_every=10**6,
        checkpoint_every=10**6, cyclegan_guard_steps=0, device=args.device, out=out, name=f"r{round_}",
        progress=False,
    )  # fmt: skip
    records = [json.loads(line) for line in (run.path / "log.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] / args.batch for r in records if r["step"] > args.warmup]
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--ch", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--log-every", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest on a shared 2-core machine)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data", nargs=2, default=None, metavar=("DATA_A", "DATA_B"), help="default: monet2photo")
    args = ap.parse_args()

    import torch

    from ganaug.data.unlabelled import read_domain
    from ganaug.models.cyclegan import translator_args

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu")
    if args.data:
        a, b = (Path(p) for p in args.data)
    else:
        root = shared_data() / "monet2photo_kaggle"
        a, b = root / "monet_jpg", root / "photo_jpg"
    size = f"{args.size}x{args.size}"
    images_a, images_b = read_domain(a, "A", resolution=size).images, read_domain(b, "B", resolution=size).images
    if images_a.shape[1] != images_b.shape[1]:
        raise SystemExit("the reference loop has the identity loss: both domains need the same channels")
    c = images_a.shape[1]
    arch_args = translator_args("resnet", c, c, args.size, args.size, args.ch, args.blocks)
    plain, ours = [], []
    with tempfile.TemporaryDirectory(prefix="ganaug-cg-bench-") as tmp:
        for r in range(args.rounds):
            plain.append(plain_loop(args, images_a, images_b, arch_args, device))
            ours.append(ganaug_loop(args, a, b, Path(tmp), r))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; {args.size}x{args.size}, batch {args.batch}, resnet ch {args.ch} blocks {args.blocks}")
    print(f"plain reference loop: {max(plain):.2f} steps/s (rounds: {', '.join(f'{v:.2f}' for v in plain)})")
    print(f"ganaug fit --task cyclegan: {max(ours):.2f} steps/s (rounds: {', '.join(f'{v:.2f}' for v in ours)})")
    print(f"ratio ganaug / plain: {max(ours) / max(plain):.2f}x (target >= 0.9x)")


if __name__ == "__main__":
    main()
