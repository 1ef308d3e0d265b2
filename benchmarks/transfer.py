"""Transfer on small data: does a fit started from a fit on a larger public set (``ganaug fit --init-from``) make
samples worth more than a fit from scratch of the same budget?

    python benchmarks/transfer.py --dataset breastmnist [--source-time 20m] [--seeds 10] [--jobs 2]
                                  [--default RUN] [--out runs/bench-transfer]

Three fits, each with the machine to itself, then one comparison:

1. the source: BreastMNIST (1 channel) starts from the MNIST test set (``../shared/data/mnist_t10k``, 9500 digits
   as a ``.npz``), RetinaMNIST (RGB) from the CIFAR-10 subset (``cifar10_test_subset``, 1000 images); both at 28x28
   with the default network, ``--max-time`` ``--source-time``, no teacher and no measurements (only its weights are
   used). A public model of this kind would be downloaded, so its time is not part of the target fit's budget;
2. the transfer fit: ``ganaug fit DATA.npz --preset medical --train-fraction 0.1 --init-from SOURCE`` (the small
   regime: a stratified 10% of the training split, the 10-minute default budget on a CPU);
3. the same fit from scratch (or ``--default RUN``, an earlier fit of that command on the same machine).

Then ``value_levers.py generators --regime small --model TRANSFER --model-b DEFAULT``: the fixed recipe on top of
classical augmentation with each generator, beside classical augmentation and classical augmentation + distillation,
with paired seeds. Fits that are already in ``--out`` are reused, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import mnist_npz, shared_data  # noqa: E402

DATASETS = {
    "breastmnist": ("medmnist_breastmnist/breastmnist.npz", "mnist"),
    "retinamnist": ("medmnist_retinamnist/retinamnist.npz", "cifar"),
}


def fit(args: list[str], run: Path, log: Path) -> Path:
    """``ganaug fit ARGS --out run.parent --name run.name`` unless the run already has its export."""
    if (run / "export" / "config.json").exists():
        print(f"reusing {run}")
        return run
    command = [sys.executable, "-m", "ganaug", "fit", *args, "--out", str(run.parent), "--name", run.name]
    print("$", " ".join(command), flush=True)
    with open(log, "w") as fh:
        subprocess.run(command, check=True, stdout=fh, stderr=subprocess.STDOUT)
    return run


def source_data(kind: str, out: Path) -> list[str]:
    """The source fit's DATA and the options that bring it to 28x28."""
    if kind == "mnist":
        return [str(mnist_npz(out / "mnist.npz", n_train=9500))]
    return [str(shared_data() / "cifar10_test_subset"), "--resolution", "28"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=sorted(DATASETS), default="breastmnist")
    ap.add_argument("--source-time", default="20m", help="--max-time of the source fit")
    ap.add_argument("--default", help="an existing fit from scratch of the same command (skips fit 3)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="runs/bench-transfer")
    args = ap.parse_args()

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    target, kind = DATASETS[args.dataset]
    data = str(shared_data() / target)
    source = fit(
        [*source_data(kind, out), "--max-time", args.source_time, "--teacher-epochs", "0", "--eval-every", "0"],
        out / f"source-{kind}",
        out / f"source-{kind}.log",
    )
    small = [data, "--preset", "medical", "--train-fraction", "0.1"]
    name = args.dataset.removesuffix("mnist")
    transfer = fit([*small, "--init-from", str(source)], out / f"{name}-small-init", out / f"{name}-small-init.log")
    default = Path(args.default) if args.default else fit(small, out / f"{name}-small", out / f"{name}-small.log")
    levers = Path(__file__).resolve().parent / "value_levers.py"
    command = [sys.executable, str(levers), "generators", "--dataset", args.dataset, "--regime", "small",
               "--model", str(transfer), "--model-b", str(default), "--seeds", str(args.seeds),
               "--jobs", str(args.jobs), "--out", str(out / f"{name}-small-transfer.json")]  # fmt: skip
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


if __name__ == "__main__":
    main()
