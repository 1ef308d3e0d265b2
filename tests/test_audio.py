"""The spectrogram preset: audio folders -> log-mel spectrograms with saved settings, bad audio, listening (--audio),
GANAugment on (..., n_mels, time) tensors, GANAugmentWaveform, and refusing mismatched classifier settings."""

from __future__ import annotations

import json
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganaug
from ganaug.cli import main
from ganaug.data import read_data
from ganaug.errors import GanaugError

sf = pytest.importorskip("soundfile")
pytest.importorskip("torchaudio")

RATE = 8000
TONES = {"low": 400.0, "high": 1500.0}
SPEC = {"duration": 0.256, "n_mels": 16}  # 16 mels x 16 frames at 8 kHz: quick
TINY = {"arch": "dcgan", "ch": 8, "latent_dim": 16, "batch_size": 4, "steps": 2, "progress": False, "teacher_epochs": 0}


def tone(freq: float, seconds: float, rate: int = RATE, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def write_tones(root: Path, per_class: int = 3, seconds: float = 0.2) -> Path:
    for name, freq in TONES.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            sf.write(root / name / f"{name}_{i}.wav", tone(freq * (1 + 0.02 * i), seconds), RATE)
    return root


@pytest.fixture
def tones(tmp_path: Path) -> Path:
    return write_tones(tmp_path / "tones")


@pytest.fixture(scope="module")
def tone_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tone_run")
    run = ganaug.fit(write_tones(root / "data"), preset="spectrogram", out=root / "runs", name="t", **SPEC, **TINY)
    return run.path


def read(folder: Path, **kwargs) -> ganaug.data.LabelledData:
    return read_data(folder, spectrogram={**SPEC, **kwargs.pop("settings", {})}, **kwargs)


# --- reading ---------------------------------------------------------------------------------------------------------


def test_audio_folder_becomes_log_mel_with_saved_settings(tones: Path) -> None:
    data = read(tones)
    cfg = data.config
    assert data.images.shape == (6, 1, 16, 16) and data.images.min() >= -1 and data.images.max() <= 1
    assert (cfg.modality, cfg.dtype, cfg.file_format, cfg.class_names) == (
        "spectrogram",
        "float32",
        "npy",
        ["high", "low"],
    )
    extra = cfg.extra
    assert (extra["sample_rate"], extra["n_fft"], extra["hop_length"], extra["n_mels"]) == (8000, 512, 128, 16)
    assert extra["f_max"] == 4000.0 and extra["log_offset"] == 1e-6 and "normalisation" in extra
    assert any("padded 6 clips shorter than 0.256 s" in n for n in data.notes)
    low, high = data.images[data.labels == 1].mean(dim=(0, 1, 3)), data.images[data.labels == 0].mean(dim=(0, 1, 3))
    assert low.argmax() < high.argmax()  # the low tone's energy sits in lower mel bands


def test_non_square_sizes_and_resolution_check(tones: Path) -> None:
    assert read(tones, settings={"n_mels": 32, "duration": 0.512}).images.shape[-2:] == (32, 32)
    assert read(tones, settings={"n_mels": 16, "duration": 0.512}).images.shape[-2:] == (16, 32)
    with pytest.raises(GanaugError, match="n_mels x frames = 16x16"):
        read(tones, resolution="8x8")
    with pytest.raises(GanaugError, match="n_mels=300"):
        read(tones, settings={"n_mels": 300})


def test_stereo_resampled_long_and_short_clips_are_reported(tones: Path) -> None:
    sf.write(tones / "low" / "stereo.flac", tone(400, 0.2, rate=16000, channels=2), 16000)
    sf.write(tones / "high" / "long.ogg", tone(1500, 1.0), RATE)
    sf.write(tones / "high" / "bit_long.wav", tone(1500, 0.3), RATE)
    data = read(tones)
    notes = " | ".join(data.notes)
    assert "mixed 1 multi-channel files down to mono (e.g. stereo.flac)" in notes
    assert "resampled 1 files (1 at 16000 Hz) to 8000 Hz" in notes
    assert "cropped 2 clips longer than 0.256 s" in notes and "1 were more than 1.5x as long" in notes
    assert "long.ogg (1.00 s)" in notes and "padded 7 clips" in notes


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.wav", b"RIFF....WAVEnot really audio", "cannot decode"),
        ("empty.flac", b"", "cannot decode"),
        ("header.wav", "header", "Format not recognised|cannot decode"),
        ("rate0.wav", "rate0", "sample rate of 0"),
        ("ratehuge.wav", "ratehuge", "claims a sample rate of 2147483647 Hz in its WAV header, over 768000"),
        ("notes.txt", b"hello", "not an audio file"),
    ],
)
def test_bad_audio_files(tones: Path, name: str, content, match: str) -> None:
    if isinstance(content, str):
        good = bytearray((tones / "low" / "low_0.wav").read_bytes())
        if content in ("rate0", "ratehuge"):
            good[24:28] = struct.pack("<I", 0 if content == "rate0" else 2**31 - 1)
        else:
            good[8:12] = b"XXXX"
        content = bytes(good)
    (tones / "low" / name).write_bytes(content)
    with pytest.raises(GanaugError, match=match) as info:
        read(tones)
    assert name in str(info.value) and "--skip-bad" in str(info.value)
    data = read(tones, skip_bad=True)
    assert len(data) == 6 and Path(data.skipped[0][0]).name == name


def test_audio_in_an_image_preset_points_to_the_spectrogram_preset(tones: Path) -> None:
    with pytest.raises(GanaugError, match="--preset spectrogram"):
        read_data(tones)
    with pytest.raises(GanaugError, match="--n-mels apply to audio; add --preset spectrogram"):
        ganaug.fit(tones, n_mels=32, dry_run=True)


def dry_run(folder: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["fit", str(folder), "--preset", "spectrogram", *args, "--dry-run"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_spectrogram_dry_run_and_overrides(tones: Path) -> None:
    resolved = dry_run(tones, "--steps", "100")  # the preset's own size: 64 mels x 64 frames at 8 kHz
    assert resolved["fit"]["augment"] == "time" and resolved["fit"]["resolution"] == "64x64"
    assert resolved["data"]["extra"]["duration"] == 1.024 and resolved["preset"]["name"] == "spectrogram"
    assert resolved["data"]["extra"]["hop_length"] == 128 and not any("CPU defaults" in n for n in resolved["notes"])
    args = ["--n-mels", "32", "--duration", "0.512", "--augment", "time,cutout", "--hop-length", "64"]
    resolved = json.loads(
        CliRunner().invoke(main, ["fit", str(tones), "--preset", "spectrogram", *args, "--dry-run"]).output
    )
    assert resolved["fit"]["augment"] == "time,cutout" and resolved["fit"]["resolution"] == "32x64"


def test_cpu_size_under_the_automatic_budget(tones: Path) -> None:
    """On a CPU without --steps, the preset trains a dcgan of width 32 at 32 mels x 32 frames (a hop of n_fft / 2)
    and says so; each group applies unless one of its options is set, and --steps gives the preset's own."""
    resolved = dry_run(tones, "--device", "cpu")
    fit = resolved["fit"]
    assert (fit["resolution"], fit["arch"], fit["ch"], fit["loss"], fit["max_time"]) == (
        "32x32",
        "dcgan",
        32,
        "bce",
        "600s",
    )
    extra = resolved["data"]["extra"]
    assert (extra["n_mels"], extra["hop_length"], extra["n_fft"]) == (32, 256, 512)
    note = next(n for n in resolved["notes"] if "CPU defaults" in n)
    assert "(--n-mels 32 --frames 32 --arch dcgan --ch 32)" in note and "give --n-mels 64 --arch biggan" in note
    sized = dry_run(tones, "--device", "cpu", "--n-mels", "64")["fit"]
    assert (sized["resolution"], sized["arch"]) == ("64x64", "dcgan")
    wide = dry_run(tones, "--device", "cpu", "--ch", "16")["fit"]
    assert (wide["resolution"], wide["arch"], wide["ch"]) == ("32x32", "biggan", 16)
    assert dry_run(tones, "--device", "cpu", "--hop-length", "256")["fit"]["resolution"] == "64x32"
    assert dry_run(tones, "--device", "cpu", "--max-time", "1h")["fit"]["resolution"] == "32x32"
    own = dry_run(tones, "--device", "cpu", "--steps", "50")
    assert (own["fit"]["resolution"], own["fit"]["arch"]) == ("64x64", "biggan") and not any(
        "CPU" in n for n in own["notes"]
    )


def test_frames_sets_the_hop(tones: Path) -> None:
    resolved = dry_run(tones, "--steps", "5", "--duration", "0.512", "--frames", "16")
    assert resolved["fit"]["resolution"] == "64x16" and resolved["data"]["extra"]["hop_length"] == 256
    with pytest.raises(GanaugError, match=r"give --frames \(16\) or --hop-length \(64\), not both"):
        ganaug.fit(tones, preset="spectrogram", frames=16, hop_length=64, dry_run=True)
    with pytest.raises(GanaugError, match="--frames 5000 is not accepted for 0.512 s at 8000 Hz.*at most 4096"):
        ganaug.fit(tones, preset="spectrogram", duration=0.512, frames=5000, dry_run=True)


# --- listening and waveforms ---------------------------------------------------------------------------------------


def test_griffin_lim_recovers_the_tone(tones: Path) -> None:
    from ganaug.generation.spectrograms import to_waveform

    data = read(tones, settings={"duration": 0.512, "n_mels": 64})
    wave = to_waveform(data.images[:1], data.config)[0].numpy()  # class "high", 1500 Hz, lasting 0.2 s
    spectrum = np.abs(np.fft.rfft(wave[: int(0.2 * RATE)]))
    peak = np.fft.rfftfreq(int(0.2 * RATE), 1 / RATE)[spectrum.argmax()]
    assert abs(peak - 1500) < 120


def test_sample_audio_writes_wav_files(tone_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["sample", str(tone_run), "--class", "low", "--n", "2", "--audio", "--out", str(tmp_path / "w")]
    )
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "w").glob("*.wav"))
    assert [f.name for f in files] == ["low_0_00000.wav", "low_0_00001.wav"]
    info = sf.info(files[0])
    assert (info.samplerate, info.frames, info.subtype) == (8000, 2048, "PCM_16")
    card = (tone_run / "export" / "README.md").read_text()
    assert "ganaug.generation.spectrograms.LogMel" in card and "--audio" in card
    use = card.split("## Use", 1)[1].split("## Intended use", 1)[0]
    assert "GANAugmentWaveform" in use and "check_settings" in use and "v2.ToImage" not in use


def test_sample_audio_refuses_an_image_model(tone_run: Path, tmp_path: Path) -> None:
    image_model = tmp_path / "image_model"
    shutil.copytree(tone_run / "export", image_model)
    config = json.loads((image_model / "config.json").read_text())
    config["data"].update(modality="image", extra={})
    (image_model / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["sample", str(image_model), "--class", "low", "--audio", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "not spectrograms" in result.output


def test_ganaugment_on_spectrogram_tensors(tone_run: Path) -> None:
    from ganaug.generation.spectrograms import LogMel

    features = LogMel(tone_run)
    spec = features(torch.from_numpy(tone(400, 0.256))[None])  # (1, 16, 16) like torchaudio's transforms
    assert spec.shape == (1, 16, 16)
    aug = ganaug.GANAugment(tone_run, p=1.0, seed=0, batch_size=4)
    out, label = aug(spec, "low")
    assert label == "low" and out.shape == spec.shape and out.dtype == spec.dtype and not torch.equal(out, spec)
    longer, _ = aug(torch.zeros(2, 16, 40), 0)  # time padded with the model's floor, channels repeated
    assert longer.shape == (2, 16, 40) and torch.equal(longer[0], longer[1])
    batch, labels = aug(torch.zeros(3, 1, 16, 16), torch.tensor([0, 1, 1]))
    assert batch.shape == (3, 1, 16, 16) and labels.tolist() == [0, 1, 1]
    with pytest.raises(GanaugError, match="32 mel bands but the model makes 16"):
        aug(torch.zeros(1, 32, 16), 0)
    assert pickle.loads(pickle.dumps(aug))(spec, 1)[0].shape == spec.shape
    unseeded = ganaug.GANAugment(tone_run, p=1.0, batch_size=4)
    torch.manual_seed(3)
    first = unseeded(spec, "low")[0]
    unseeded(spec, "low")  # the sampler's state moves on
    torch.manual_seed(3)
    assert torch.equal(unseeded(spec, "low")[0], first)  # torch's seed alone fixes the spectrogram


def test_albumentations_ganaugment_on_spectrogram_arrays(tone_run: Path) -> None:
    import albumentations as A

    from ganaug.generation.spectrograms import LogMel
    from ganaug.transforms.albumentations import GANAugment

    spec = LogMel(tone_run)(torch.from_numpy(tone(400, 0.256))[None])[0].numpy()  # (16, 16) float32
    pipeline = A.Compose([GANAugment(str(tone_run), p=1.0, sample_seed=0, batch_size=4)], seed=0)
    out = pipeline(image=spec, label="low")["image"]
    assert out.shape == spec.shape and out.dtype == spec.dtype and not np.array_equal(out, spec)
    wide = pipeline(image=np.zeros((16, 40, 2), np.float32), label=0)["image"]  # time padded, channels repeated
    assert wide.shape == (16, 40, 2) and np.array_equal(wide[..., 0], wide[..., 1])
    db = A.Compose([GANAugment(str(tone_run), p=1.0, sample_seed=0, mean=0.0, std=0.5)], seed=0)
    assert np.allclose(db(image=spec, label="low")["image"], out / 0.5, atol=1e-4)
    with pytest.raises(GanaugError, match="float arrays shaped"):
        pipeline(image=np.zeros((16, 16), np.uint8), label=0)
    restored = A.from_dict(A.to_dict(pipeline))
    assert restored(image=spec, label="low")["image"].shape == spec.shape


def test_ganaugment_waveform(tone_run: Path) -> None:
    from ganaug.generation.spectrograms import GANAugmentWaveform

    aug = GANAugmentWaveform(tone_run, p=1.0, seed=0, n_iter=4, batch_size=2)
    wave = torch.from_numpy(tone(400, 0.3))
    out, label = aug(wave, "low")
    assert out.shape == wave.shape and out.dtype == torch.float32 and label == "low"
    stereo, _ = aug(torch.zeros(2, 1000), 1)
    assert stereo.shape == (2, 1000) and torch.equal(stereo[0], stereo[1])
    pcm, _ = aug(torch.zeros(1, 500, dtype=torch.int16), 0)
    assert pcm.dtype == torch.int16 and pcm.shape == (1, 500)
    resampled = GANAugmentWaveform(tone_run, p=1.0, sample_rate=16000, n_iter=2, batch_size=1)
    assert resampled(torch.zeros(5000), 0)[0].shape == (5000,)
    with pytest.raises(GanaugError, match="one clip"):
        aug(torch.zeros(2, 1, 100), 0)
    restored = pickle.loads(pickle.dumps(aug))
    assert restored(wave, 0)[0].shape == wave.shape


def test_ganaugment_waveform_follows_torch_seed(tone_run: Path) -> None:
    from ganaug.generation.spectrograms import GANAugmentWaveform

    aug = GANAugmentWaveform(tone_run, p=1.0, n_iter=2)
    clips = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        clips.append(aug(torch.zeros(800), "low")[0])
    assert torch.equal(clips[0], clips[1]) and not torch.equal(clips[0], clips[2])
    other = GANAugmentWaveform(tone_run, p=1.0, n_iter=2)  # a second instance: the same clip for the same seed
    torch.manual_seed(0)
    assert torch.equal(other(torch.zeros(800), "low")[0], clips[0])


def test_check_settings_refuses_mismatched_features(tone_run: Path) -> None:
    import torchaudio

    from ganaug.generation.spectrograms import LogMel, check_settings

    same = torchaudio.transforms.MelSpectrogram(8000, n_fft=512, hop_length=128, n_mels=16)
    assert check_settings(tone_run, same).n_mels == 16
    assert check_settings(tone_run, torch.nn.Sequential(same, torchaudio.transforms.AmplitudeToDB())).n_mels == 16
    assert check_settings(tone_run, LogMel(tone_run)).hop_length == 128
    other = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=64)
    with pytest.raises(GanaugError) as info:
        check_settings(tone_run, other)
    message = str(info.value)
    assert "n_mels 64 (yours) vs 16 (model)" in message and "sample_rate 16000" in message and "LogMel" in message
    mfcc = torchaudio.transforms.MFCC(8000, n_mfcc=13, melkwargs={"n_fft": 512, "hop_length": 128, "n_mels": 40})
    with pytest.raises(GanaugError, match="n_mels 40"):
        check_settings(tone_run, mfcc)
    with pytest.raises(GanaugError, match="not spectrograms"):
        check_settings(ganaug.load_generator(tone_run).config | {"data": {"modality": "image"}}, same)


def test_fsdd_files_with_a_label_pattern(shared_data: Path, tmp_path: Path) -> None:
    recordings = shared_data / "fsdd" / "recordings"
    flat = tmp_path / "fsdd"
    flat.mkdir()
    for digit in (3, 7):
        for n in (0, 1, 2):
            name = f"{digit}_jackson_{n}.wav"
            (flat / name).symlink_to(recordings / name)
    data = read_data(flat, label_pattern=r"^(\d)_", spectrogram={"duration": 1.024, "n_mels": 64})
    assert data.config.class_names == ["3", "7"] and data.images.shape == (6, 1, 64, 64)
    assert data.config.extra["sample_rate"] == 8000


def test_hugging_face_audio_dataset(tones: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    files = sorted(tones.glob("*/*.wav"))
    names = sorted(TONES)
    labels = [names.index(f.parent.name) for f in files]
    rows = {"audio": [{"bytes": f.read_bytes(), "path": f.name} for f in files], "label": labels}
    # Audio's own storage ({bytes, path}) cast to the Audio feature: writing through it would need a codec backend
    storage = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}
    features = datasets.Features({"audio": storage, "label": datasets.ClassLabel(names=names)})

    def audio_dataset(rows: dict):
        return datasets.Dataset.from_dict(rows, features=features).cast_column("audio", datasets.Audio())

    saved = tmp_path / "hf_tones"
    datasets.DatasetDict({"train": audio_dataset(rows)}).save_to_disk(str(saved))
    from_hf = read_data(saved, spectrogram=SPEC)
    from_folder = read(tones)
    assert from_hf.config.modality == "spectrogram" and from_hf.config.format == "hf"
    assert from_hf.config.class_names == names == from_folder.config.class_names
    order = [sorted(str(f) for f in files).index(str(f)) for f in files]  # the folder reader's order is by class
    assert torch.allclose(from_hf.images, from_folder.images[order], atol=1e-5)
    # the preset end to end on the saved dataset: an export with the spectrogram settings
    run = ganaug.fit(str(saved), preset="spectrogram", out=tmp_path / "runs", name="hf", **SPEC, **TINY)
    config = json.loads((run.path / "export" / "config.json").read_text())
    assert config["data"]["modality"] == "spectrogram" and config["data"]["extra"]["n_mels"] == 16
    # a row that is not audio names the row; --skip-bad skips it; folder options are refused
    rows["audio"][1] = {"bytes": b"not audio at all", "path": "broken.wav"}
    bad = audio_dataset(rows)
    with pytest.raises(GanaugError, match=r"Dataset\[1\] \(broken.wav\).*--skip-bad"):
        read_data(bad, spectrogram=SPEC)
    assert len(read_data(bad, spectrogram=SPEC, skip_bad=True)) == len(files) - 1
    with pytest.raises(GanaugError, match="--label-pattern apply to folders"):
        read_data(saved, spectrogram=SPEC, label_pattern="x")
    no_audio = datasets.Dataset.from_dict({"text": ["a"], "label": [0]})
    with pytest.raises(GanaugError, match="no audio column"):
        read_data(no_audio, spectrogram=SPEC)


# --- evaluate on a spectrogram model ----------------------------------------------------------------------------------


def write_flat_tones(root: Path, per_class: int = 6, gain: float = 1.0) -> Path:
    """``root/<class>_<i>.wav`` (a flat folder: the class is only in the name or a labels CSV)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, freq in TONES.items():
        for i in range(per_class):
            sf.write(root / f"{name}_{i}.wav", gain * tone(freq * (1 + 0.02 * i), 0.2), RATE)
    return root


def test_real_audio_is_read_on_the_models_scale(tone_run: Path, tmp_path: Path) -> None:
    from ganaug.data.options import read_in_model_space

    g = ganaug.load_generator(tone_run)
    own = read_in_model_space(tone_run.parent.parent / "data", g.data)  # the folder the model was fitted on
    assert own.images.shape[1:] == (1, 16, 16) and own.config.value_range == g.data.value_range
    assert torch.allclose(own.images, read(tone_run.parent.parent / "data").images)
    quiet = write_flat_tones(tmp_path / "quiet", gain=0.25)
    pattern = r"^([a-z]+)_"
    in_model = read_in_model_space(quiet, g.data, label_pattern=pattern)
    in_own = read(quiet, label_pattern=pattern)
    # 12 dB quieter: on the model's scale the clips are darker; on their own range they would look as loud
    assert in_model.images.mean() < in_own.images.mean() - 0.1
    assert in_model.config.value_range == g.data.value_range != in_own.config.value_range


def test_classical_control_shifts_spectrograms_along_time_only() -> None:
    from ganaug.evaluation.arms import classical_augment
    from ganaug.presets import get_preset

    preset = get_preset("spectrogram")
    assert not preset.vertical_shifts and get_preset("medical").vertical_shifts
    rows = torch.linspace(-1, 1, 16).view(1, 1, 16, 1).expand(32, 1, 16, 16).clone()  # each mel row one value
    time_only = classical_augment(preset.photometric_augmentation, preset.vertical_shifts)
    assert torch.equal(time_only(rows, torch.Generator().manual_seed(0)), rows)  # pitch untouched
    both = classical_augment(False)(rows, torch.Generator().manual_seed(0))
    assert not torch.equal(both, rows)
    cols = rows.transpose(2, 3).contiguous()  # each frame one value: a time shift moves them
    assert not torch.equal(time_only(cols, torch.Generator().manual_seed(0)), cols)


def test_evaluate_command_on_a_flat_audio_folder(tone_run: Path, tmp_path: Path) -> None:
    flat = write_flat_tones(tmp_path / "flat", per_class=8)
    for split, indices in (("train", range(4)), ("val", range(4, 6)), ("test", range(6, 8))):
        rows = [f"{name}_{i}.wav,{name}\n" for name in TONES for i in indices]
        (tmp_path / f"{split}.csv").write_text("".join(rows))
    args = ["evaluate", str(tone_run), str(flat), "--labels", str(tmp_path / "train.csv"), "--test", str(flat),
            "--test-labels", str(tmp_path / "test.csv"), "--val", str(flat), "--val-labels", str(tmp_path / "val.csv"),
            "--seeds", "2", "--steps", "6", "--recipe", "ratio=0.5", "--no-quality", "--quiet", "--jobs", "1",
            "--out", str(tmp_path / "ev")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ev = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert (ev["data"]["n_train"], ev["data"]["n_val"], ev["test"]["n"]) == (8, 4, 4) and ev["preset"] == "spectrogram"
    assert "real + classical augmentation" in result.output
    no_labels = CliRunner().invoke(main, args[:3] + args[5:])  # a flat folder without --labels: says how to label it
    assert no_labels.exit_code != 0 and "--label" in no_labels.output
