"""The preset examples run as written (with tiny settings given on the command line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import REPO


def run_example(name: str, *args: str) -> str:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}  # tiny work: one thread is quickest
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_medical_preset_example(tmp_path: Path) -> None:
    pytest.importorskip("pydicom")
    out = run_example("medical_preset.py", "--steps", "2", "--arch", "mlp", "--scans", "4", "--work", str(tmp_path))
    assert "augment=translation,cutout" in out and "uint16" in out and "Not for diagnosis" in out
    assert "| 0 | `lesion` | hyperdense round lesion |" in out
    assert len(list((tmp_path / "samples").glob("*.png"))) == 8


def test_spectrogram_preset_example(tmp_path: Path) -> None:
    pytest.importorskip("soundfile")
    pytest.importorskip("torchaudio")
    out = run_example("spectrogram_preset.py", "--steps", "2", "--arch", "mlp", "--clips", "4", "--work", str(tmp_path))
    assert "refused as expected" in out and "GANAugment: (1, 64, 64) -> (1, 64, 64)" in out
    assert "GANAugmentWaveform: (1, 8192) -> (1, 8192)" in out
    assert len(list((tmp_path / "wav").glob("*.wav"))) == 4
