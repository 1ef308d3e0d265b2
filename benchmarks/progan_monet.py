"""ProGAN against biggan at the same wall-clock budget, on a two-class 128 px folder: Monet paintings vs photos.

The classes are the folders of ``../shared/data/monet2photo_kaggle`` (``monet_jpg``, ``photo_jpg``; 300 images each),
linked into DATA/monet and DATA/photo and read at ``--size``. Each architecture trains for ``--max-time`` (the
budget plans its steps from the measured step time; no teacher classifier), then both are measured with the same
own-data feature extractor (a classifier trained on the real images, kept in OUT/extractor) against the training
images: FID (lower is better) and KID. Prints one line per figure: steps, the stage ProGAN reached, FID and KID per
architecture, and the sample grid of each ProGAN stage (the last grid written while it trained at that stage).

    OMP_NUM_THREADS=1 python benchmarks/progan_monet.py --max-time 2m [--size 128] [--batch 16] [--out /tmp/x]

A budget of a few minutes on a CPU only checks that everything runs (ProGAN stays at its first stages); a
meaningful comparison needs hours on a CPU or a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402

CLASSES = {"monet": "monet_jpg", "photo": "photo_jpg"}


def link_classes(out: Path, limit: int) -> Path:
    """DATA/<class>/ with links to the first ``limit`` images of each domain (0 = all)."""
    root = shared_data() / "monet2photo_kaggle"
    data = out / "data"
    for name, src in CLASSES.items():
        files = sorted(p for p in (root / src).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        folder = data / name
        folder.mkdir(parents=True, exist_ok=True)
        for f in files[:limit] if limit else files:
            link = folder / f.name
            if not link.exists():
                link.symlink_to(f.resolve())
    return data


def grids_per_stage(run: Path) -> dict[int, Path]:
    """The last sample grid written at each stage of a ProGAN run (from the stages its log records)."""
    stage_at = {}
    for line in (run / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "stage" in record:
            stage_at[record["step"]] = int(record["stage"])
    out: dict[int, Path] = {}
    for grid in sorted((run / "samples").glob("step-*.png")):
        step = int(grid.stem.split("-")[1])
        logged = [s for s in stage_at if s <= step]
        if logged:
            out[stage_at[max(logged)]] = grid
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-time", default="2m", help="wall-clock budget of each architecture")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--limit", type=int, default=0, help="images per class (0 = all 300)")
    ap.add_argument("--extractor-epochs", type=int, default=10, help="epochs of the own-data feature extractor")
    ap.add_argument("--archs", default="progan,biggan")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="/tmp/ganaug-progan-monet")
    args = ap.parse_args()

    import ganaug
    from ganaug.data import read_data
    from ganaug.metrics import measure_quality

    out = Path(args.out)
    data = link_classes(out, args.limit)
    real = read_data(data, resolution=str(args.size))
    print(f"data: {data} ({len(real.labels)} images, {real.config.class_names}, {args.size} px)")
    results = {}
    for arch in args.archs.split(","):
        t0 = time.perf_counter()
        run = ganaug.fit(
            data,
            arch=arch,
            resolution=args.size,
            batch_size=args.batch,
            max_time=args.max_time,
            teacher_epochs=0,
            device=args.device,
            log_every=1,
            out=out / "runs",
            name=f"{arch}-{int(time.time())}",
            progress=False,
        )
        seconds = time.perf_counter() - t0
        training = json.loads((run.export / "config.json").read_text())["training"]
        q = measure_quality(run.path, real, extractor="classifier", folder=out / "extractor", cas=False,
                            epochs=args.extractor_epochs, device=args.device)  # fmt: skip
        results[arch] = q
        print(f"{arch}: {run.steps_done} steps of {args.batch} in {seconds:.0f} s (budget {args.max_time}): {run.path}")
        if arch == "progan":
            t = training
            print(f"{arch}: reached stage {t['progan_stage']} of {t['progan_stages']} ({t['progan_size']}, alpha "
                  f"{t['progan_alpha']:.2f}); {t['progan_schedule']}")  # fmt: skip
            for stage, grid in sorted(grids_per_stage(run.path).items()):
                print(f"{arch}: grid at stage {stage}: {grid}")
        kid = f"{q['kid']:.4f}" if q["kid"] is not None else "n/a"
        print(f"{arch}: FID {q['fid']:.2f}, KID {kid} ({q['extractor']} features, {q['n_synthetic']} samples vs "
              f"{q['n_real']} training images)")  # fmt: skip
        print(f"{arch}: export grid {run.export / 'samples.png'}")
    if len(results) == 2:
        (a, qa), (b, qb) = results.items()
        print(f"FID {a} {qa['fid']:.2f} vs {b} {qb['fid']:.2f} at the same budget ({args.max_time} each)")


if __name__ == "__main__":
    main()
