"""``ganaug evaluate`` with its seeds in worker processes against the same evaluation in one process.

    python benchmarks/evaluate_jobs.py [--seeds 4] [--steps 150] [--jobs 2]

Both runs use a small BreastMNIST model fitted here (the default biggan for a few hundred steps) and the same paired
seeds, so the arms' scores must be identical; the figure is the wall-clock ratio. Run it on an otherwise idle
machine: the workers share its cores with anything else running.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import shared_data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=150, help="classifier steps per training")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run")
    parser.add_argument("--fit-steps", type=int, default=200)
    args = parser.parse_args()

    import ganaug
    from ganaug.evaluation.evaluate import evaluate

    data = str(shared_data() / "medmnist_breastmnist" / "breastmnist.npz")
    out = Path(tempfile.mkdtemp())
    run = ganaug.fit(data, preset="medical", steps=args.fit_steps, out=out, name="jobs", progress=False)
    opts = {"val": data, "seeds": args.seeds, "steps": args.steps, "quality": False, "progress": False,
            "device": "cpu", "warn": lambda m: None}  # fmt: skip
    times, results = {}, {}
    for jobs in (1, args.jobs):
        t0 = time.perf_counter()
        results[jobs] = evaluate(run.path, data, data, jobs=jobs, out=out / f"jobs{jobs}", **opts)
        times[jobs] = time.perf_counter() - t0
    same = all(results[args.jobs]["arms"][name]["test"] == arm["test"] for name, arm in results[1]["arms"].items())
    trainings = sum(len(arm["test"]) for name, arm in results[1]["arms"].items() if name != "ganaug")
    print(f"evaluate, {args.seeds} seeds x {trainings // args.seeds} trainings of {args.steps} steps: one process "
          f"{times[1]:.1f} s, {args.jobs} workers {times[args.jobs]:.1f} s, speed-up "
          f"{times[1] / times[args.jobs]:.2f}x; identical scores: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
