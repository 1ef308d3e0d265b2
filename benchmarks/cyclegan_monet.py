"""A CycleGAN on monet2photo for a fixed budget, judged on held-out images.

Domain A = Monet paintings, B = photos, both 64x64. The last ``--holdout`` files (by name) of each domain are kept
out of training. Prints the cycle-reconstruction L1 on held-out images (against the same networks untrained), how
far a translation moves an image, and whether its colour statistics move toward the other domain; writes grids of
held-out photo -> Monet and Monet -> photo (rows: input, translation, cycle back), one line per figure.

    python benchmarks/cyclegan_monet.py [--steps 12000] [--size 64] [--ch 32] [--out /tmp/ganaug-monet]

The default budget (12000 steps at batch 1, about 43 epochs of the 280 training images per domain) takes about
38 minutes on one CPU thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402


def split_domain(src: Path, dest: Path, holdout: int) -> tuple[Path, Path]:
    """Symlink all but the last ``holdout`` files into dest/train, the rest into dest/holdout."""
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    train, held = dest / "train", dest / "holdout"
    for folder, part in ((train, files[:-holdout]), (held, files[-holdout:])):
        folder.mkdir(parents=True, exist_ok=True)
        for f in part:
            link = folder / f.name
            if not link.exists():
                link.symlink_to(f.resolve())
    return train, held


def colour_stats(x):
    """Per-channel mean and std over a model-space batch (6 numbers)."""
    import torch

    return torch.cat([x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--ch", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--holdout", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 is fastest on a shared 2-core machine)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="/tmp/ganaug-monet")
    args = ap.parse_args()

    import torch

    import ganaug
    from ganaug.data.unlabelled import read_domain
    from ganaug.generation.grid import save_grid
    from ganaug.models.cyclegan import build_translators
    from ganaug.translation.translator import Translator

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    root = shared_data() / "monet2photo_kaggle"
    monet_train, monet_held = split_domain(root / "monet_jpg", out / "data" / "monet", args.holdout)
    photo_train, photo_held = split_domain(root / "photo_jpg", out / "data" / "photo", args.holdout)
    t0 = time.perf_counter()
    run = ganaug.fit(
        [monet_train, photo_train],
        task="cyclegan",
        resolution=args.size,
        ch=args.ch,
        cyclegan_blocks=args.blocks,
        batch_size=args.batch,
        steps=args.steps,
        sample_every=max(1, args.steps // 5),
        checkpoint_every=max(1, args.steps // 2),
        log_every=50,
        device=args.device,
        out=out / "runs",
        name=f"monet2photo-{args.size}",
        progress=False,
    )
    minutes = (time.perf_counter() - t0) / 60
    t = ganaug.load_translator(run.path)
    size = f"{args.size}x{args.size}"
    monet = read_domain(monet_held, "A", resolution=size).images
    photo = read_domain(photo_held, "B", resolution=size).images
    torch.manual_seed(0)
    a2b, b2a = build_translators(t.config["arch"], t.config["arch_args"])
    untrained = Translator({"a2b": a2b, "b2a": b2a}, t.config)
    print(
        f"trained {args.steps} steps (batch {args.batch}, {args.size}x{args.size}, ch {args.ch}) in {minutes:.1f} min"
    )
    for name, x, there, back in (("Monet", monet, "a2b", "b2a"), ("photo", photo, "b2a", "a2b")):
        y = t.translate(x, there)
        rec = t.translate(y, back)
        base = untrained.translate(untrained.translate(x, there), back)
        l1, l1_base = float((rec - x).abs().mean() / 2), float((base - x).abs().mean() / 2)
        print(f"held-out {name} ({len(x)}): cycle L1 {l1:.4f} ([0,1] scale; untrained networks {l1_base:.4f})")
        print(f"held-out {name}: mean |translation - input| {float((y - x).abs().mean() / 2):.4f}")
        target = photo if name == "Monet" else monet
        before = float((colour_stats(x) - colour_stats(target)).norm())
        after = float((colour_stats(y) - colour_stats(target)).norm())
        print(f"held-out {name}: colour-statistics distance to the other domain {before:.4f} -> {after:.4f}")
    for label, x, direction in (("photo2monet", photo, "b2a"), ("monet2photo", monet, "a2b")):
        other = "a2b" if direction == "b2a" else "b2a"
        shown = x[:8]
        y = t.translate(shown, direction)
        grid = torch.cat([shown, y, t.translate(y, other)])
        path = save_grid(grid, len(shown), out / f"{label}_heldout.png", min_cell=128)
        print(f"grid {label} (rows: held-out input, translation, cycle back): {path}")
    print(f"run folder: {run.path}")


if __name__ == "__main__":
    main()
