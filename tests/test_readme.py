"""Every ```python block of README.md runs, one test per block (id: its line in README.md), on tiny stand-ins.

Each block runs in a fresh namespace and a fresh working directory holding what it names: ``runs/NAME`` (a tiny
model of the kind the block uses), ``data/train`` (class folders the model knows) and the variables it takes as given
(``g``, ``numpy_image``, ``waveform``, ...). ``ganaug.fit`` is held to a tiny network and a few steps. A block that
cannot run offline is skipped only when it says so (a line ``# not run by the tests: REASON``) or is named in SKIPPED
below, and the skip says why. A block that raises fails its test: a renamed name in the README is caught here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import ganaug

from .cyclegan_support import tiny_cyclegan
from .helpers import REPO, TINY, write_class_folder

README = REPO / "README.md"
SKIP_MARK = "# not run by the tests:"
SKIPPED = {  # start of the first line of a block -> why it is not run
    'url = ganaug.push_to_hub("runs/NAME", "my-org/breastmnist-cgan")': "needs the Hugging Face Hub (push, download)",
}
CLASSES = {"benign": 4, "malignant": 4, "normal": 4, "other": 4}  # 4 classes: the albumentations block uses label=3
CODES = "cat:4,cont:1"  # c0 with 4 values, u0: the InfoGAN block sets c0=3 and u0=0.8


def python_blocks() -> list[tuple[int, str]]:
    """(line of the opening fence, code) for every ```python block of README.md."""
    blocks, start, lines = [], None, []
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if start is None and line.strip() == "```python":
            start, lines = number, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines) + "\n"))
            start = None
        elif start is not None:
            lines.append(line)
    return blocks


BLOCKS = python_blocks()


def first_line(code: str) -> str:
    return next(line.strip() for line in code.splitlines() if line.strip())


@pytest.fixture(scope="module")
def coded_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data folder, run folder) of a tiny 4-class RGB 8x8 dcgan with InfoGAN codes c0 (4 values) and u0."""
    root = tmp_path_factory.mktemp("readme")
    data = write_class_folder(root / "data", CLASSES, mode="RGB")
    run = ganaug.fit(data, **TINY, info_codes=CODES, steps=4, sample_every=100, progress=False, out=root / "runs")
    return data, run.path


@pytest.fixture(scope="module")
def tone_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run folder of a tiny spectrogram model of two tones (8 kHz, 16 mels x 16 frames), as tests/test_audio.py."""
    sf = pytest.importorskip("soundfile")
    pytest.importorskip("torchaudio")
    root = tmp_path_factory.mktemp("readme_tones")
    for name, freq in {"low": 400.0, "high": 1500.0}.items():
        (root / "data" / name).mkdir(parents=True)
        for i in range(3):
            sf.write(root / "data" / name / f"{i}.wav", tone(freq * (1 + 0.02 * i), 0.2), 8000)
    spec = {"duration": 0.256, "n_mels": 16, "preset": "spectrogram"}
    run = ganaug.fit(root / "data", **TINY, **spec, steps=2, progress=False, out=root / "runs")
    return run.path


def tone(freq: float, seconds: float, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def tiny_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ganaug.fit`` with the block's own arguments, but a tiny network and at most 4 steps."""
    real_fit = ganaug.fit

    def fit(data, **options):
        options.update(TINY, steps=min(options.get("steps", 4), 4), sample_every=100, progress=False)
        return real_fit(data, **options)

    monkeypatch.setattr(ganaug, "fit", fit)


def image_stand_ins(coded_model: tuple[Path, Path]) -> dict:
    """``runs/NAME`` and ``data/train`` in the working directory, and the names the image blocks take as given."""
    data, run = coded_model
    shutil.copytree(run, "runs/NAME")
    shutil.copytree(data, "data/train")
    g = ganaug.load_generator("runs/NAME")
    rng = np.random.default_rng(0)
    from ganaug.data import read_data

    return {
        "ganaug": ganaug,
        "g": g,
        "numpy_image": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
        "images": g.sample("benign", n=8, seed=0),
        "train": read_data(Path("data/train")),
        "my_resnet": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, len(CLASSES))),
    }


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[str(line) for line, _ in BLOCKS])
def test_readme_python_block_runs(line, code, request, tmp_path, monkeypatch):
    first = first_line(code)
    marked = [text.split(SKIP_MARK, 1)[1].strip() for text in code.splitlines() if SKIP_MARK in text]
    listed = [why for start, why in SKIPPED.items() if first.startswith(start)]
    if marked or listed:
        pytest.skip(f"README.md line {line} ({first!r}): {(marked or listed)[0]}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_ALBUMENTATIONS_UPDATE", "1")
    torch.manual_seed(0)
    if "ganaug.fit(" in code:
        tiny_fit(monkeypatch)
        shutil.copytree(request.getfixturevalue("coded_model")[0], "data")
        namespace = {}
    elif "load_translator(" in code:
        shutil.copytree(tiny_cyclegan(request.getfixturevalue("tmp_path_factory")), "runs/NAME")
        from PIL import Image

        gray = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
        namespace = {"x": torch.rand(2, 1, 16, 16) * 2 - 1, "pil_image": Image.fromarray(gray), "label": 0}
        namespace["image"] = Image.fromarray(gray)
    elif "GANAugmentWaveform" in code or "LogMel" in code:
        import torchaudio

        shutil.copytree(request.getfixturevalue("tone_model"), "runs/NAME")
        mel = torchaudio.transforms.MelSpectrogram(8000, n_fft=512, hop_length=128, n_mels=16)
        namespace = {"my_mel_spectrogram": mel, "waveform": torch.from_numpy(tone(400, 0.256))[None], "label": "low"}
    else:
        namespace = image_stand_ins(request.getfixturevalue("coded_model"))
    exec(compile("\n" * line + code, str(README), "exec"), namespace)  # tracebacks name README lines


def test_every_python_block_is_found():
    count = len(re.findall(r"^```python\s*$", README.read_text(encoding="utf-8"), flags=re.M))
    assert count == len(BLOCKS) >= 9
    firsts = [first_line(code) for _, code in BLOCKS]
    assert all(any(f.startswith(start) for f in firsts) for start in SKIPPED)  # a stale skip entry is an error
