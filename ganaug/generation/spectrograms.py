"""Spectrogram models (``--preset spectrogram``) in audio pipelines: features, settings checks, listening, waveforms.

- ``LogMel(model)``: a torch module computing exactly the model's features (log-mel) from waveforms, for a classifier;
- ``check_settings(model, transform)``: refuses a classifier's ``MelSpectrogram`` (or MFCC, or a module holding one)
  whose settings differ from the model's, instead of silently producing mismatched features;
- ``to_waveform`` / ``write_wav``: generated spectrograms back to audio (``InverseMelScale`` + ``GriffinLim``);
- ``GANAugment`` replaces spectrogram tensors shaped ``(..., n_mels, time)`` (see ``spectrogram_like``) and
  ``GANAugmentWaveform`` returns waveforms, for pipelines that work on audio.

torch, torchaudio and soundfile load when this module is imported (``import ganaug`` stays light).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import DataConfig
from ..data.audio import SpectrogramSettings, settings_of
from ..data.convert import to_data
from ..errors import GanaugError
from ..fileio import atomic_write, read_json
from ..transforms.functional import spectrogram_like
from ..transforms.torchvision import GANAugment

__all__ = [
    "GANAugmentWaveform",
    "LogMel",
    "SpectrogramSettings",
    "check_settings",
    "model_settings",
    "spectrogram_like",
    "to_waveform",
    "write_wav",
]

CHECKED = ("sample_rate", "n_fft", "win_length", "hop_length", "n_mels", "f_min", "f_max", "power", "center")
CHECKED_MEL = ("norm", "mel_scale")


def _data_config(model: Any) -> DataConfig:
    """A model's DataConfig from a Generator, a Sampler, a DataConfig, a config dict, or any MODEL source."""
    if isinstance(model, DataConfig):
        return model
    data = getattr(model, "data", None)
    if isinstance(data, DataConfig):
        return data
    if isinstance(model, dict):
        return DataConfig.from_dict(model.get("data", model))
    from ..hub.sources import resolve_model
    from .generator import CONFIG_NAME

    return DataConfig.from_dict(read_json(resolve_model(model) / CONFIG_NAME)["data"])


def model_settings(model: Any) -> SpectrogramSettings:
    """The spectrogram settings a model was trained with (``model``: any MODEL source, a Generator or a Sampler)."""
    return settings_of(_data_config(model))


class LogMel(nn.Module):
    """The model's features, ``ln(mel + log_offset)`` of waveforms at its sample rate: ``(..., n_mels, frames)``.

    ``frames`` is ``samples // hop_length``, so a clip of the model's duration gives exactly the model's size.

    Example:
        >>> features = LogMel("runs/fsdd")  # doctest: +SKIP
        >>> features(torch.zeros(1, 8192)).shape  # doctest: +SKIP
        torch.Size([1, 64, 64])
    """

    def __init__(self, model: Any):
        super().__init__()
        self.settings = model if isinstance(model, SpectrogramSettings) else model_settings(model)
        self.mel = self.settings.mel_transform()

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        s = self.settings
        mel = self.mel(waveform.float())[..., : max(1, waveform.shape[-1] // s.hop_length)]
        return torch.log(mel + s.log_offset)


def _transform_settings(transform: Any) -> dict[str, Any]:
    """The settings of a MelSpectrogram (or of the first one inside a module, e.g. MFCC), a LogMel, or a dict."""
    if isinstance(transform, (SpectrogramSettings, LogMel)):
        s = transform if isinstance(transform, SpectrogramSettings) else transform.settings
        return s.to_dict()
    if isinstance(transform, dict):
        return dict(transform)
    import torchaudio

    if isinstance(transform, nn.Module):
        for m in transform.modules():
            if isinstance(m, LogMel):
                return m.settings.to_dict()
            if isinstance(m, torchaudio.transforms.MelSpectrogram):
                out = {k: getattr(m, k) for k in CHECKED if k not in ("f_max", "center")}
                out.update(f_max=m.mel_scale.f_max, norm=m.mel_scale.norm, mel_scale=m.mel_scale.mel_scale)
                out.update(center=m.spectrogram.center, pad=m.pad, normalized=m.spectrogram.normalized)
                return out
    raise GanaugError(
        f"cannot read spectrogram settings from a {type(transform).__name__}; pass torchaudio's MelSpectrogram "
        "(or MFCC, or a module holding one), ganaug.generation.spectrograms.LogMel, or a dict of settings"
    )


def check_settings(model: Any, transform: Any) -> SpectrogramSettings:
    """Refuse a classifier's spectrogram settings that differ from the model's; returns the model's settings.

    Example:
        >>> from torchaudio.transforms import MelSpectrogram  # doctest: +SKIP
        >>> check_settings("runs/fsdd", MelSpectrogram(8000, n_fft=512, hop_length=128, n_mels=64))  # doctest: +SKIP
    """
    s = model_settings(model)
    theirs = _transform_settings(transform)
    ours = s.to_dict()
    diffs = []
    for key in CHECKED + CHECKED_MEL:
        if key not in theirs:
            continue
        a, b = theirs[key], ours[key]
        same = abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b))) if _numeric(a, b) else a == b
        if not same:
            diffs.append(f"{key} {a!r} (yours) vs {b!r} (model)")
    if theirs.get("pad"):
        diffs.append(f"pad {theirs['pad']} (yours) vs 0 (model)")
    if theirs.get("normalized"):
        diffs.append("normalized STFT (yours) vs not normalized (model)")
    if diffs:
        raise GanaugError(
            "the classifier's spectrogram settings differ from the model's, so synthetic spectrograms would not "
            f"match its features: {'; '.join(diffs)}. Build the features with "
            "ganaug.generation.spectrograms.LogMel(model), or "
            "train a model with your settings "
            "(ganaug fit --preset spectrogram --sample-rate/--n-fft/--hop-length/--n-mels)"
        )
    return s


def _numeric(a: Any, b: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))


# --- back to audio ----------------------------------------------------------------------------------------------


def to_waveform(x: torch.Tensor, model: Any, n_iter: int = 32, sample_rate: int | None = None) -> torch.Tensor:
    """Model-space spectrograms ``(N, 1, n_mels, frames)`` -> waveforms ``(N, samples)`` with Griffin-Lim.

    The log-mel values are undone (``exp(v) - log_offset``), ``InverseMelScale`` estimates the linear spectrogram and
    ``GriffinLim`` its phase. ``sample_rate`` resamples the result (default: the model's rate).
    """
    import torchaudio

    data = _data_config(model)
    s = settings_of(data)
    if x.ndim == 3:
        x = x[None]
    logmel = torch.from_numpy(to_data(x, data))[..., 0]
    mel = (torch.exp(logmel) - s.log_offset).clamp_min(0.0)
    mel = torch.cat([mel, mel[..., -1:]], dim=-1)  # the frame centred past the end, dropped when reading
    griffin_lim = torchaudio.transforms.GriffinLim(
        n_fft=s.n_fft,
        n_iter=n_iter,
        win_length=s.win_length,
        hop_length=s.hop_length,
        power=s.power,
        length=s.num_samples,
        rand_init=False,
    )
    with torch.no_grad():
        wave = griffin_lim(torch.relu(_inverse_mel(s) @ mel))
    if sample_rate and int(sample_rate) != s.sample_rate:
        wave = torchaudio.functional.resample(wave, s.sample_rate, int(sample_rate))
    return wave


@functools.lru_cache(maxsize=8)
def _inverse_mel(s: SpectrogramSettings) -> torch.Tensor:
    """The pseudo-inverse of torchaudio's InverseMelScale filterbank, ``(n_stft, n_mels)``: the same least-squares
    solution as its ``forward`` (minimum norm, then ReLU), computed once instead of a batched ``lstsq`` per call."""
    import torchaudio

    fb = torchaudio.transforms.InverseMelScale(
        n_stft=s.n_fft // 2 + 1,
        n_mels=s.n_mels,
        sample_rate=s.sample_rate,
        f_min=s.f_min,
        f_max=s.f_max,
        norm=s.norm,
        mel_scale=s.mel_scale,
    ).fb
    return torch.linalg.pinv(fb.T.double()).float()


def write_wav(path: str | Path, wave: torch.Tensor | np.ndarray, sample_rate: int) -> Path:
    """Write a mono waveform as 16-bit PCM WAV, atomically; a clip louder than full scale is scaled down."""
    import soundfile

    arr = np.asarray(wave.detach().cpu() if isinstance(wave, torch.Tensor) else wave, dtype=np.float32).reshape(-1)
    peak = float(np.abs(arr).max(initial=0.0))
    if peak > 1.0:
        arr = arr / peak
    path = Path(path)
    path = path if path.suffix.lower() == ".wav" else path.with_name(path.name + ".wav")  # dots in a name stay
    return atomic_write(path, lambda tmp: soundfile.write(tmp, arr, int(sample_rate), subtype="PCM_16", format="WAV"))


def write_audio_samples(generator: Any, x: torch.Tensor, out: str | Path, stem: str) -> list[Path]:
    """``ganaug sample --audio``: one ``{stem}_{i:05d}.wav`` per model-space sample in ``out``."""
    s = model_settings(generator)
    waves = to_waveform(x, generator)
    return [write_wav(Path(out) / f"{stem}_{i:05d}.wav", w, s.sample_rate) for i, w in enumerate(waves)]


# --- GANAugment on spectrogram tensors, and on waveforms --------------------------------------------------------


class GANAugmentWaveform(GANAugment):
    """With probability ``p``, replace a waveform by a synthetic clip of the same class (``mode="mix"``: blend them).

    The clip is a generated spectrogram turned into audio with Griffin-Lim (``n_iter`` iterations), resampled to
    ``sample_rate`` (default: the model's), cut or zero-padded to the input's length and repeated over its channels;
    it keeps the input's dtype (float, or int16 full scale) and device. The input is one clip, ``(time,)`` or
    ``(channels, time)``; labels are found as in ``GANAugment``. The clip is a function of the recorded (class,
    latent seed), drawn like ``GANAugment``'s: torch's seed (or ``seed=``) reproduces it. Other keyword arguments
    are ``GANAugment``'s.

    Example:
        >>> aug = GANAugmentWaveform("runs/fsdd", p=0.5, sample_rate=8000)  # doctest: +SKIP
        >>> waveform, label = aug(waveform, 3)  # doctest: +SKIP
    """

    def __init__(self, source: Any, p: float = 0.5, *, sample_rate: int | None = None, n_iter: int = 32, **kwargs):
        super().__init__(source, p, **kwargs)
        settings = settings_of(self.sampler.data)
        if sample_rate is not None and (isinstance(sample_rate, bool) or int(sample_rate) < 1):
            raise GanaugError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        self.sample_rate = int(sample_rate or settings.sample_rate)
        self.n_iter = int(n_iter)

    def _synthesize(self, batch: torch.Tensor) -> list[torch.Tensor]:
        return list(to_waveform(batch, self.sampler.data, self.n_iter, self.sample_rate))

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        rows = params["rows"]
        if rows is None:
            return inpt
        if not isinstance(inpt, torch.Tensor) or inpt.ndim not in (1, 2):
            shape = tuple(inpt.shape) if isinstance(inpt, torch.Tensor) else type(inpt).__name__
            raise GanaugError(f"GANAugmentWaveform takes one clip shaped (time,) or (channels, time), got {shape}")
        if not (inpt.is_floating_point() or inpt.dtype == torch.int16):
            raise GanaugError(f"a waveform must be float or int16, got {inpt.dtype}")
        drawn = self.sampler.seeded(params["classes"][:1], params["seeds"][:1])  # (class, seed) fixes the clip
        wave = self._synthesize(drawn)[0]
        n = inpt.shape[-1]
        wave = wave[:n] if len(wave) >= n else torch.cat([wave, wave.new_zeros(n - len(wave))])
        if inpt.ndim == 2:
            wave = wave[None].expand(inpt.shape[0], -1)
        weights = params["weights"]
        if inpt.dtype == torch.int16:
            mixed = wave if weights is None else torch.lerp(inpt.float() / 32768, wave, float(weights[0]))
            return (mixed * 32768).round().clamp(-32768, 32767).to(torch.int16).to(inpt.device)
        wave = wave.to(device=inpt.device, dtype=inpt.dtype)
        return wave.contiguous() if weights is None else torch.lerp(inpt, wave, float(weights[0]))
