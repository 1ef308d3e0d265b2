"""Audio class folders -> log-mel spectrograms (the ``spectrogram`` preset), and the settings that define them.

Each clip is decoded with soundfile (wav, flac, ogg, aiff), mixed down to mono, resampled with torchaudio to the set
rate and padded with silence or cropped (keeping its start) to the set duration. torchaudio's ``MelSpectrogram``
gives an ``n_mels x frames`` power spectrogram with ``frames = samples // hop_length`` (the last centred frame, which
reaches past the clip, is dropped), and ``ln(mel + log_offset)`` is the data space. The range of those values over
the training data, floored ``top_db`` below its maximum, maps to [-1, 1] in model space (``DataConfig.value_range``).
Every setting is saved in ``DataConfig.extra`` so that features and audio can be rebuilt from ``config.json``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig, parse_resolution
from ..errors import GanaugError
from ..modalities import modality_of
from . import LabelledData
from .convert import batch_to_model
from .files import AUDIO_SUFFIXES, SKIP_HINT
from .labels import labelled_files

MAX_SAMPLE_RATE = 768_000  # the fastest rate audio hardware records at; a header claiming more is damaged
AUDIO_TEXT = "WAV, FLAC, OGG/Vorbis and AIFF audio (read with soundfile)"
DEFAULT_DURATION = 1.024
DEFAULT_N_MELS = 64
LOG_OFFSET = 1e-6
TOP_DB = 80.0
FAR = 1.5  # a clip longer than FAR x the duration is "far longer": its crop is reported by name


@dataclass(frozen=True)
class SpectrogramSettings:
    """How audio becomes a log-mel spectrogram; saved in ``DataConfig.extra`` (and so in ``config.json``).

    ``win_length`` 0 means ``n_fft`` and ``f_max`` 0 means ``sample_rate / 2``; both are filled in on creation.

    Example:
        >>> s = SpectrogramSettings(sample_rate=8000, duration=1.024, n_fft=512, hop_length=128, n_mels=64)
        >>> s.num_samples, s.frames, s.f_max
        (8192, 64, 4000.0)
    """

    sample_rate: int
    duration: float
    n_fft: int
    hop_length: int
    n_mels: int
    f_min: float = 0.0
    f_max: float = 0.0
    win_length: int = 0
    power: float = 2.0
    center: bool = True
    pad_mode: str = "reflect"
    mel_scale: str = "htk"
    norm: str | None = None
    log_offset: float = LOG_OFFSET
    top_db: float = TOP_DB

    def __post_init__(self) -> None:
        object.__setattr__(self, "win_length", int(self.win_length or self.n_fft))
        object.__setattr__(self, "f_max", float(self.f_max or self.sample_rate / 2))
        object.__setattr__(self, "f_min", float(self.f_min))
        problems = []
        if self.sample_rate < 1:
            problems.append(f"sample_rate={self.sample_rate} must be >= 1")
        if self.n_fft < 16 or self.hop_length < 1 or self.win_length > self.n_fft:
            problems.append(f"n_fft={self.n_fft}, hop_length={self.hop_length} need n_fft >= 16, hop_length >= 1")
        if not 4 <= self.n_mels <= self.n_fft // 2 + 1:
            problems.append(f"n_mels={self.n_mels} must lie in 4..n_fft/2+1 ({self.n_fft // 2 + 1})")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            problems.append(f"need 0 <= f_min ({self.f_min:g}) < f_max ({self.f_max:g}) <= sample_rate/2")
        if self.sample_rate >= 1 and self.hop_length >= 1 and self.frames < 4:
            problems.append(f"duration={self.duration:g} s gives {self.frames} frames; at least 4 are needed")
        if problems:
            raise GanaugError("spectrogram settings not accepted: " + "; ".join(problems))

    @property
    def num_samples(self) -> int:
        return int(round(self.duration * self.sample_rate))

    @property
    def frames(self) -> int:
        return self.num_samples // self.hop_length

    @classmethod
    def resolve(cls, options: dict, rates: Sequence[int] = ()) -> SpectrogramSettings:
        """Settings from FitConfig-style options, where 0 means: the data's most common rate, ~64 ms FFT, a hop of
        n_fft / 4, or the hop that gives ``frames`` frames (the spectrogram's width) when that is set."""
        sample_rate = int(options.get("sample_rate") or 0) or (Counter(rates).most_common(1)[0][0] if rates else 16000)
        n_fft = int(options.get("n_fft") or 0) or 2 ** max(4, round(math.log2(sample_rate * 0.064)))
        duration = float(options.get("duration") or DEFAULT_DURATION)
        hop, frames = int(options.get("hop_length") or 0), int(options.get("frames") or 0)
        if hop and frames:
            raise GanaugError(f"give --frames ({frames}) or --hop-length ({hop}), not both: each sets the other")
        if frames:
            samples = int(round(duration * sample_rate))  # num_samples of the settings made below
            hop = max(1, samples // frames)
            if samples // hop != frames:
                raise GanaugError(
                    f"--frames {frames} is not accepted for {duration:g} s at {sample_rate} Hz: no hop gives exactly "
                    f"that many frames; give at most {samples} frames, or --hop-length"
                )
        return cls(
            sample_rate=sample_rate,
            duration=duration,
            n_fft=n_fft,
            hop_length=hop or max(1, n_fft // 4),
            n_mels=int(options.get("n_mels") or DEFAULT_N_MELS),
            f_min=float(options.get("f_min") or 0.0),
            f_max=float(options.get("f_max") or 0.0),
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SpectrogramSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        missing = {"sample_rate", "duration", "n_fft", "hop_length", "n_mels"} - set(d)
        if missing:
            raise GanaugError(f"not a spectrogram model: its data settings lack {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in names})

    def mel_transform(self):
        """torchaudio's ``MelSpectrogram`` with these settings."""
        import torchaudio

        return torchaudio.transforms.MelSpectrogram(
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            win_length=self.win_length,
            hop_length=self.hop_length,
            f_min=self.f_min,
            f_max=self.f_max,
            pad=0,
            n_mels=self.n_mels,
            power=self.power,
            center=self.center,
            pad_mode=self.pad_mode,
            norm=self.norm,
            mel_scale=self.mel_scale,
        )

    def log_mel(self, waves: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """``(..., num_samples)`` waveforms -> ``(..., n_mels, frames)`` values ``ln(mel + log_offset)``."""
        mel = self.mel_transform()
        flat = waves.reshape(-1, waves.shape[-1]).float()
        with torch.no_grad():
            out = torch.cat([mel(chunk) for chunk in flat.split(batch)]) if len(flat) else flat.new_zeros(0, 1, 1)
        out = torch.log(out[..., : max(1, flat.shape[-1] // self.hop_length)] + self.log_offset)
        return out.reshape(*waves.shape[:-1], *out.shape[-2:])


def fit_length(wave: np.ndarray, n: int) -> np.ndarray:
    """Pad with zeros at the end, or keep the first ``n`` samples."""
    if len(wave) >= n:
        return wave[:n]
    return np.concatenate([wave, np.zeros(n - len(wave), wave.dtype)])


def _wav_rate(path: Path, head: bytes | None = None) -> int | None:
    """The sample rate written in a RIFF/WAVE header (the file's, or ``head``), or None if it is not one."""
    if head is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError:
            return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = head.find(b"fmt ")
    return struct.unpack("<I", head[pos + 12 : pos + 16])[0] if 0 <= pos <= len(head) - 16 else None


def decode_audio(path: str | Path, data: bytes | None = None) -> tuple[np.ndarray, int]:
    """One audio file (or its ``data`` bytes, named ``path``) as a ``(samples, channels)`` float32 array in [-1, 1]
    and its sample rate."""
    import io

    import soundfile

    path = Path(path)
    head = data[:64] if data is not None else None
    header_rate = _wav_rate(path, head)
    if header_rate == 0:
        raise GanaugError(f"{str(path)!r} has a sample rate of 0 in its WAV header; the file is damaged")
    if header_rate is not None and header_rate > MAX_SAMPLE_RATE:  # resampling from it would take gigabytes
        raise GanaugError(
            f"{str(path)!r} claims a sample rate of {header_rate} Hz in its WAV header, over {MAX_SAMPLE_RATE} Hz; "
            "the file is damaged"
        )
    try:
        source = io.BytesIO(data) if data is not None else str(path)
        wave, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise GanaugError(f"cannot decode {str(path)!r} as audio ({exc}); accepted: {AUDIO_TEXT}") from exc
    if not 0 < rate <= MAX_SAMPLE_RATE:
        raise GanaugError(
            f"{str(path)!r} has a sample rate of {rate} Hz (accepted: 1 to {MAX_SAMPLE_RATE}); the file is damaged"
        )
    if wave.shape[0] == 0:
        raise GanaugError(f"{str(path)!r} holds no audio samples")
    if not np.isfinite(wave).all():
        raise GanaugError(f"{str(path)!r} holds NaN or infinite samples")
    return wave, int(rate)


def _try_decode(path: Path) -> tuple[np.ndarray | None, int, str]:
    if not path.name.lower().endswith(AUDIO_SUFFIXES):
        return None, 0, f"{str(path)!r} is not an audio file; accepted: {AUDIO_TEXT}"
    try:
        wave, rate = decode_audio(path)
        return wave, rate, ""
    except GanaugError as exc:
        return None, 0, str(exc)


def _to_mono_at(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    mono = wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]
    if rate == target:
        return mono
    import torchaudio

    return torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(mono)), rate, target).numpy()


def read_audio_folder(
    path: str | Path,
    *,
    settings: dict,
    resolution: str | int = "auto",
    channels: int = 0,
    split: str = "train",
    skip_bad: bool = False,
    labels: str = "",
    label_pattern: str = "",
) -> LabelledData:
    """Read ``DATA/<class>/<clip>`` (or a flat folder with ``labels`` / ``label_pattern``) as log-mel spectrograms.

    ``settings`` holds FitConfig's audio fields (``sample_rate``, ``duration``, ``n_fft``, ``hop_length``, ``n_mels``,
    ``f_min``, ``f_max``; 0 = automatic) and optionally ``value_range``, the ``[low, high]`` of log-mel values that maps
    to [-1, 1] (a model's saved range, to read other data on its scale; default: the data's own). The size is
    ``n_mels x frames``; ``resolution`` must be auto or that size.
    """
    root = Path(path)
    notes: list[str] = []
    skipped: list[tuple[str, str]] = []
    if channels not in (0, 1):
        raise GanaugError(f"channels={channels} is not accepted for spectrograms; they have 1 channel")
    class_names, class_files, _ = labelled_files(
        root,
        labels=labels,
        label_pattern=label_pattern,
        suffixes=AUDIO_SUFFIXES,
        skip_bad=skip_bad,
        notes=notes,
        skipped=skipped,
    )
    decoded: list[tuple[str, np.ndarray, int, int]] = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for index, files in enumerate(class_files):
            good = 0
            for file, (wave, rate, reason) in zip(files, pool.map(_try_decode, files), strict=True):
                if wave is None:
                    if not skip_bad:
                        raise GanaugError(f"{reason}; {SKIP_HINT}")
                    skipped.append((str(file), reason))
                    continue
                decoded.append((file.name, wave, rate, index))
                good += 1
            if not good:
                raise GanaugError(
                    f"class {class_names[index]!r} has no readable audio files ({len(files)} files); accepted: "
                    f"{AUDIO_TEXT}"
                )
    return spectrogram_data(
        decoded, class_names, settings, resolution=resolution, source=str(path), format="folder", notes=notes,
        skipped=skipped,
    )  # fmt: skip


def spectrogram_data(
    decoded: list[tuple[str, np.ndarray, int, int]],
    class_names: Sequence[str],
    settings: dict,
    *,
    resolution: str | int = "auto",
    source: str,
    format: str,
    notes: list[str],
    skipped: list[tuple[str, str]],
) -> LabelledData:
    """Decoded clips ``(name, (samples, channels) wave, rate, class index)`` -> log-mel spectrogram data."""
    rates = [rate for _, _, rate, _ in decoded]
    spec = SpectrogramSettings.resolve(settings, rates)
    if resolution not in ("auto", "", 0, "0", None):
        if parse_resolution(resolution, (spec.n_mels, spec.frames)) != (spec.n_mels, spec.frames):
            raise GanaugError(
                f"resolution {resolution!r} is not accepted for spectrograms: their size is n_mels x frames = "
                f"{spec.n_mels}x{spec.frames}; change it with --n-mels, --duration and --hop-length"
            )
    n = spec.num_samples
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        waves = list(pool.map(lambda d: _to_mono_at(d[1], d[2], spec.sample_rate), decoded))
    _report(decoded, waves, spec, settings, notes)
    batch = torch.from_numpy(np.stack([fit_length(w.astype(np.float32), n) for w in waves]))
    logmel = spec.log_mel(batch)
    if settings.get("value_range"):  # a model's saved range: this data on the scale the model was trained on
        lo, hi = (float(v) for v in settings["value_range"])
    else:
        hi = float(logmel.max())
        lo = max(float(logmel.min()), hi - spec.top_db * math.log(10) / 10)
        lo = min(lo, hi - 1e-3)
    images = batch_to_model(logmel[..., None].numpy(), [lo, hi]).clamp_(-1.0, 1.0)
    label_ids = torch.tensor([index for _, _, _, index in decoded], dtype=torch.int64)
    extra = {
        **spec.to_dict(),
        "log": "ln(mel + log_offset)",
        "normalisation": "value_range [low, high] of the log-mel values maps to [-1, 1]; low is at most top_db "
        "below high, lower values are clipped",
    }
    config = DataConfig(
        modality="spectrogram",
        format=format,
        source=source,
        height=spec.n_mels,
        width=spec.frames,
        channels=1,
        dtype="float32",
        value_range=[lo, hi],
        file_format="npy",
        class_names=list(class_names),
        class_counts=torch.bincount(label_ids, minlength=len(class_names)).tolist(),
        extra=extra,
    )
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable files (listed in skipped)")
    return LabelledData(images=images, labels=label_ids, config=config, skipped=skipped, notes=notes)


def _report(decoded: list, waves: list[np.ndarray], spec: SpectrogramSettings, options: dict, notes: list[str]) -> None:
    """Append what was done to the clips: rate chosen, mixing down, resampling, padding and cropping."""
    rates = Counter(rate for _, _, rate, _ in decoded)
    if not options.get("sample_rate"):
        notes.append(f"sample rate {spec.sample_rate} Hz: the most common in the data")
    stereo = [d[0] for d in decoded if d[1].shape[1] > 1]
    if stereo:
        notes.append(f"mixed {len(stereo)} multi-channel files down to mono (e.g. {stereo[0]})")
    other = {r: k for r, k in rates.items() if r != spec.sample_rate}
    if other:
        from_ = ", ".join(f"{k} at {r} Hz" for r, k in sorted(other.items()))
        notes.append(f"resampled {sum(other.values())} files ({from_}) to {spec.sample_rate} Hz")
    n, seconds = spec.num_samples, spec.duration
    short = sum(len(w) < n for w in waves)
    if short:
        notes.append(f"padded {short} clips shorter than {seconds:g} s with silence at the end")
    long_ = [(len(w) / spec.sample_rate, d[0]) for d, w in zip(decoded, waves, strict=True) if len(w) > n]
    if long_:
        far = sorted((x for x in long_ if x[0] > FAR * seconds), reverse=True)
        text = f"cropped {len(long_)} clips longer than {seconds:g} s to their first {seconds:g} s"
        if far:
            named = ", ".join(f"{name} ({sec:.2f} s)" for sec, name in far[:3])
            text += f"; {len(far)} were more than {FAR:g}x as long, losing most of their audio: {named}"
        notes.append(text)
    notes.append(
        f"log-mel spectrograms of {spec.n_mels} mels x {spec.frames} frames (n_fft {spec.n_fft}, "
        f"hop {spec.hop_length}, {spec.f_min:g}-{spec.f_max:g} Hz, {seconds:g} s at {spec.sample_rate} Hz)"
    )


def card_notes(data: DataConfig) -> str:
    """The model card's notes for a spectrogram model: its settings and how to listen and build features."""
    s = SpectrogramSettings.from_dict(data.extra)
    settings = ", ".join(
        f"{k}={getattr(s, k)}"
        for k in ("sample_rate", "duration", "n_fft", "win_length", "hop_length", "n_mels", "f_min", "f_max")
    )
    low, high = data.value_range
    return (
        f"Samples are log-mel spectrograms, `ln(mel + {s.log_offset:g})` with torchaudio's MelSpectrogram "
        f"({settings}, power {s.power:g}, mel_scale {s.mel_scale}); values {low:.3f}..{high:.3f} map to [-1, 1]. "
        "A classifier must use the same settings: build its features with "
        "`ganaug.generation.spectrograms.LogMel(MODEL)`, or "
        "check your own with `ganaug.generation.spectrograms.check_settings(MODEL, transform)`. Listen to samples with "
        "`ganaug sample MODEL --class C --n 4 --audio --out DIR` (Griffin-Lim)."
    )


def settings_of(data: DataConfig | dict[str, Any]) -> SpectrogramSettings:
    """The spectrogram settings saved with a model's data description; an image model is a clear error."""
    d = data if isinstance(data, DataConfig) else DataConfig.from_dict(data)
    if not modality_of(d).spectrogram_settings:
        raise GanaugError(f"this model makes {d.modality} samples, not spectrograms (trained with another preset)")
    return SpectrogramSettings.from_dict(d.extra)
