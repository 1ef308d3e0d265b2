"""--preset spectrogram end to end: an audio folder -> a log-mel GAN -> wav files to listen to; GANAugment on the
spectrograms of a classifier's pipeline, GANAugmentWaveform on waveforms, and mismatched features refused.

    python examples/spectrogram_preset.py [--data FOLDER --label-pattern REGEX] [--work DIR] [--steps N] [--ch N]
                                          [--arch dcgan] [--clips N]

Without --data it writes a small folder of synthetic clips in two classes, "rising" and "falling" pitch sweeps
(some stereo, some at 16 kHz: mixed down and resampled, as the notes report). Spoken digits work too:
--data ../shared/data/fsdd/recordings --label-pattern '^(\\d)_'.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

import ganaug


def write_sweeps(root: Path, per_class: int = 12, rate: int = 8000) -> Path:
    """``root/<rising|falling>/<n>.wav``: 0.4-0.9 s pitch sweeps with a little noise."""
    import soundfile

    rng = np.random.default_rng(0)
    for name, sign in (("rising", 1), ("falling", -1)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            sr = 16000 if i % 4 == 3 else rate
            t = np.arange(int(rng.uniform(0.4, 0.9) * sr)) / sr
            f0 = rng.uniform(400, 700)
            freq = f0 * 2 ** (sign * 1.5 * t / t[-1])
            wave = 0.4 * np.sin(2 * np.pi * np.cumsum(freq) / sr) + 0.01 * rng.standard_normal(len(t))
            wave = np.stack([wave, wave], axis=1) if i % 5 == 4 else wave
            soundfile.write(root / name / f"{name}_{i:03d}.wav", wave.astype(np.float32), sr)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="an audio class folder (or a flat one with --label-pattern)")
    parser.add_argument("--label-pattern", default="", help=r"regex on file names, e.g. '^(\d)_' for FSDD")
    parser.add_argument("--work", default=None, help="folder for the data, the run and the wav files")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--ch", type=int, default=16, help="network width (small for a quick CPU run)")
    parser.add_argument("--arch", default="dcgan", help="network architecture (see `ganaug info`)")
    parser.add_argument("--clips", type=int, default=12, help="synthetic clips per class without --data")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="ganaug-audio-"))
    if not args.work:
        print(f"working folder: {work} (the data, the run and its outputs; delete it when done, or pass --work DIR)")
    data = args.data or write_sweeps(work / "sweeps", per_class=args.clips)

    # 1. Train on log-mel spectrograms (64 mels x 64 frames, ~1 s); augmentation shifts along time only.
    run = ganaug.fit(
        data,
        preset="spectrogram",
        label_pattern=args.label_pattern,
        arch=args.arch,
        ch=args.ch,
        steps=args.steps,
        batch_size=16,
        sample_every=max(1, args.steps),
        out=work / "runs",
        name="spectrogram",
        progress=False,
    )
    g = run.load_generator()
    print(
        f"run: {run.path}\nspectrogram grid (rows = classes, low frequencies at the top): {run.export / 'samples.png'}"
    )

    # 2. Listen: generated spectrograms back to audio with Griffin-Lim (the same as `ganaug sample --audio`).
    from ganaug.generation.spectrograms import GANAugmentWaveform, LogMel, check_settings, to_waveform, write_wav

    rate = g.data.extra["sample_rate"]
    for c in g.class_names[:3]:
        waves = to_waveform(g.sample(c, n=2, seed=0), g)
        paths = [write_wav(work / "wav" / f"{c}_{i}.wav", w, rate) for i, w in enumerate(waves)]
        print(f"class {c}: {', '.join(str(p) for p in paths)}")

    # 3. A classifier's features: LogMel rebuilds the model's own settings; other settings are refused.
    import torchaudio

    features = LogMel(run.path)
    check_settings(run.path, features)
    try:
        check_settings(run.path, torchaudio.transforms.MelSpectrogram(rate, n_fft=400, hop_length=160, n_mels=40))
    except ganaug.GanaugError as exc:
        print(f"refused as expected: {str(exc)[:150]}...")

    # 4. GANAugment on spectrogram tensors (..., n_mels, time), as torchaudio's transforms give them.
    clip = torch.randn(1, int(rate * 1.024)) * 0.01
    spectrogram = features(clip)
    augment = ganaug.GANAugment(run.path, p=1.0, seed=0)
    synthetic, label = augment(spectrogram, g.class_names[0])
    print(f"GANAugment: {tuple(spectrogram.shape)} -> {tuple(synthetic.shape)}, label {label!r}")

    # 5. GANAugmentWaveform for pipelines that work on audio: a clip in, a synthetic clip of the same class out.
    waveform_augment = GANAugmentWaveform(run.path, p=1.0, seed=0, sample_rate=rate, batch_size=8)
    wave, label = waveform_augment(clip, g.class_names[-1])
    print(f"GANAugmentWaveform: {tuple(clip.shape)} -> {tuple(wave.shape)} at {rate} Hz, label {label!r}")


if __name__ == "__main__":
    main()
