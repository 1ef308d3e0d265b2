"""The spectrogram preset on FSDD (spoken digits, 8 kHz): a fit on a small labelled subset, spectrogram grids per
digit, generated wav files, and the accuracy of a small spectrogram classifier with and without ganaug samples.

    python benchmarks/fsdd_spectrogram.py [--fraction 0.1] [--gan-data subset|train] [--steps 800] [--ch 32]
                                          [--n-mels 32] [--hop-length 256] [--clf-steps 300] [--seeds 3]
                                          [--threads 1] [--out runs/bench-fsdd]

The official split: recordings 0-4 of each speaker and digit are the test set (300 files), 5-49 the training set
(2700). The classifier sees ``--fraction`` of the training recordings (stratified by digit, fixed by seed 0); the
GAN is fit on the same subset (``--gan-data subset``, so that it knows no labels the classifier lacks) or on every
training recording (``--gan-data train``). The fit is ``ganaug fit --preset spectrogram --labels train.csv``; the
classifier (``ganaug.downstream.classifier.SmallResNet``) is trained ``--seeds`` times per arm for ``--clf-steps``
updates on:

- real: the subset's log-mel spectrograms;
- real + ganaug: the subset plus as many synthetic spectrograms per digit (``--ratio`` x the subset's count).

Features of real clips are the model's own (``ganaug.generation.spectrograms.LogMel``), normalised by its saved value
range.
The defaults fit a 10-minute budget on 2 CPU cores: 32 mels x 32 frames (hop 256 at 8 kHz, 1.024 s) instead of the
preset's 64 x 64, dcgan with ``--ch 32``, and one torch thread.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fsdd_split, shared_data  # noqa: E402


def subset(files: list[Path], fraction: float, seed: int = 0) -> list[Path]:
    """A stratified random ``fraction`` of ``files`` per digit."""
    rng = np.random.default_rng(seed)
    picked = []
    for digit in range(10):
        pool = [f for f in files if f.name.startswith(f"{digit}_")]
        picked += [pool[i] for i in sorted(rng.choice(len(pool), max(1, round(fraction * len(pool))), replace=False))]
    return picked


def features(files: list[Path], g) -> tuple[torch.Tensor, torch.Tensor]:
    """Model-space log-mel spectrograms of real clips with the model's settings, and their digit labels."""
    from ganaug.data.audio import decode_audio, fit_length
    from ganaug.data.convert import batch_to_model
    from ganaug.generation.spectrograms import LogMel

    logmel = LogMel(g)
    n = logmel.settings.num_samples
    waves = []
    for f in files:
        wave, rate = decode_audio(f)
        assert rate == logmel.sample_rate, f"{f} is at {rate} Hz"
        waves.append(fit_length(wave.mean(axis=1), n))
    with torch.no_grad():
        values = logmel(torch.from_numpy(np.stack(waves)))
    x = batch_to_model(values[..., None].numpy(), g.data.value_range).clamp_(-1, 1)
    y = torch.tensor([g.class_index(f.name.split("_")[0]) for f in files])
    return x, y


def train(x, y, steps: int, seed: int):
    from ganaug.downstream.classifier import SmallResNet, seed_everything, train_classifier

    seed_everything(seed)
    net = SmallResNet(1, 10, x.shape[2], x.shape[3])
    return train_classifier(net, x, y, epochs=1, min_steps=steps, seed=seed, batch_size=64)


def accuracy(net, x, y) -> float:
    from ganaug.downstream.classifier import predict_proba

    return float((predict_proba(net, x).argmax(1) == y.numpy()).mean())


def flipped(x: torch.Tensor) -> torch.Tensor:
    """Low frequencies at the bottom, as spectrograms are usually drawn."""
    return torch.flip(x, dims=[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=0.1, help="fraction of the training recordings used")
    parser.add_argument("--gan-data", choices=["subset", "train"], default="subset")
    parser.add_argument("--steps", type=int, default=800, help="GAN training steps")
    parser.add_argument("--ch", type=int, default=32)
    parser.add_argument("--n-mels", type=int, default=32)
    parser.add_argument("--hop-length", type=int, default=256)
    parser.add_argument("--ratio", type=float, default=1.0, help="synthetic samples per real one, per digit")
    parser.add_argument("--clf-steps", type=int, default=300, help="classifier updates (batch 64) per training")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default="runs/bench-fsdd", help="grids, wav files and the run go here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import ganaug
    from ganaug.generation.grid import save_grid
    from ganaug.generation.spectrograms import to_waveform, write_wav

    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recordings = shared_data() / "fsdd" / "recordings"
    train_files, test_files = fsdd_split(recordings)
    small = subset(train_files, args.fraction)
    gan_files = small if args.gan_data == "subset" else train_files
    labels = out / "gan_train.csv"
    with open(labels, "w", newline="") as fh:
        csv.writer(fh).writerows([(f.name, f.name.split("_")[0]) for f in gan_files])
    t0 = time.perf_counter()
    run = ganaug.fit(
        recordings, preset="spectrogram", labels=str(labels), n_mels=args.n_mels, hop_length=args.hop_length,
        n_fft=512, arch="dcgan", ch=args.ch, steps=args.steps, batch_size=64, sample_every=args.steps,
        checkpoint_every=args.steps, out=out / "runs", name="fsdd", progress=False,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - t0
    g = run.load_generator()
    real_x, real_y = features(small, g)
    test_x, test_y = features(test_files, g)

    for d in range(10):  # grids per digit: 16 real, 16 synthetic
        save_grid(flipped(real_x[real_y == d][:16]), 8, out / f"digit{d}_real.png")
        save_grid(flipped(g.sample(str(d), 16, seed=1)), 8, out / f"digit{d}_ganaug.png")
    waves = to_waveform(g.generate([str(d) for d in range(10)], seed=2), g)
    wavs = [write_wav(out / "wav" / f"digit{d}.wav", w, g.data.extra["sample_rate"]) for d, w in enumerate(waves)]

    arms: dict[str, list[float]] = {"real": [], "real + ganaug": []}
    recognised = []  # how often the real-only classifier names a synthetic sample's digit
    per_digit = round(args.ratio * len(small) / 10)
    for seed in range(args.seeds):
        fake_y = torch.arange(10).repeat_interleave(per_digit)
        fake_x = g.generate(fake_y.tolist(), seed=100 + seed)
        net = train(real_x, real_y, args.clf_steps, seed)
        arms["real"].append(accuracy(net, test_x, test_y))
        recognised.append(accuracy(net, fake_x, fake_y))
        net = train(torch.cat([real_x, fake_x]), torch.cat([real_y, fake_y]), args.clf_steps, seed)
        arms["real + ganaug"].append(accuracy(net, test_x, test_y))

    h, w = g.data.height, g.data.width
    print(
        f"FSDD spectrogram preset: {h} mels x {w} frames, dcgan ch {args.ch}, {args.steps} steps ({fit_seconds:.0f} s) "
        f"on {len(gan_files)} training recordings ({args.gan_data}); classifier on {len(small)} real "
        f"({args.fraction:.0%} of training) + {10 * per_digit} synthetic; test {len(test_files)}"
    )
    for arm, values in arms.items():
        v = np.array(values)
        print(f"FSDD test accuracy, {arm}: {v.mean():.3f} +- {v.std():.3f} (seeds: {', '.join(f'{a:.3f}' for a in v)})")
    real, fake = np.mean(arms["real"]), np.mean(arms["real + ganaug"])
    print(f"FSDD real + ganaug vs real: {fake - real:+.3f} accuracy (ratio {fake / real:.3f}x)")
    print(f"FSDD synthetic samples named as their digit by the real-only classifier: {np.mean(recognised):.3f}")
    print(f"grids: {out}/digit*_{{real,ganaug}}.png (low frequencies at the bottom); wav: {wavs[0].parent}/digit*.wav")
    print(f"export: {run.export}; total time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
