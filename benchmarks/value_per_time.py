"""Value per minute: fit-time CAS (and FID) against the wall-clock time of training, one line per run, one plot.

    python benchmarks/value_per_time.py RUN [RUN ...] [--out value_per_time.png] [--at 10]

Each RUN is a run folder fitted with `--eval-every N --eval-metric cas` (best with `--eval-split val`, so the CAS
is measured on data the generator never saw). The time axis is the training steps' wall-clock time from the run's
log. Prints, per run, the CAS reached within --at minutes, the best CAS and when it was reached, and the ratio of
the two times: how much of the run the best value needed. The curves show where longer training stops paying.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def curve(run: Path) -> tuple[list[float], list[float], list[float]]:
    """(minutes, CAS, FID) at each fit-time evaluation of ``run``."""
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    config = json.loads((run / "fit_config.json").read_text())
    batch = config["fit"]["batch_size"]
    seconds, last_step, elapsed = {}, 0, 0.0
    for r in records:  # the time of each logged step: recorded, or rebuilt from the logged speed
        if "loss_d" not in r:
            continue
        if "train_seconds" in r:
            elapsed = r["train_seconds"]
        else:
            elapsed += (r["step"] - last_step) * batch / max(r["images_per_s"], 1e-9)
        seconds[r["step"]], last_step = elapsed, r["step"]
    steps = sorted(seconds)
    minutes, cas, fid = [], [], []
    for r in records:
        if "cas" not in r and "fid" not in r:
            continue
        at = min(steps, key=lambda s: abs(s - r["step"]))
        minutes.append(seconds[at] / 60)
        cas.append(r.get("cas"))
        fid.append(r.get("fid"))
    return minutes, cas, fid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("value_per_time.png"))
    parser.add_argument("--at", type=float, default=10.0, help="minutes of training to read the CAS at")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_cas, ax_fid) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for run in args.runs:
        minutes, cas, fid = curve(run)
        if not any(c is not None for c in cas):
            print(f"{run.name}: no fit-time CAS in its log (fit it with --eval-every N --eval-metric cas)")
            continue
        points = [(m, c) for m, c in zip(minutes, cas, strict=True) if c is not None]
        ax_cas.plot(*zip(*points, strict=True), marker="o", label=run.name)
        ax_fid.plot(minutes, fid, marker="o", label=run.name)
        best_m, best = max(points, key=lambda p: p[1])
        early = [c for m, c in points if m <= args.at]
        within = f"{max(early):.3f}" if early else "none measured"
        total = points[-1][0]
        print(f"{run.name}: CAS within {args.at:g} min {within}; best {best:.3f} at {best_m:.1f} of {total:.1f} min "
              f"(ratio {best_m / max(total, 1e-9):.2f} of the run)")  # fmt: skip
    ax_cas.set(xlabel="training minutes (wall-clock)", ylabel="CAS balanced accuracy (fit-time)")
    ax_fid.set(xlabel="training minutes (wall-clock)", ylabel="FID (own-data features)")
    ax_cas.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
