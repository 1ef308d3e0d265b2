"""Labels for flat folders (any preset): --labels FILE.csv (path,label) and --label-pattern REGEX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ganaug
from ganaug.cli import main
from ganaug.data import read_data
from ganaug.errors import GanaugError


@pytest.fixture
def flat(tmp_path: Path, image_tools) -> Path:
    """A flat folder of 8x8 gray PNGs named ``{digit}_{speaker}_{n}.png``: digits 2 (x3) and 10 (x2)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "flat"
    for digit, count in ((2, 3), (10, 2)):
        for n in range(count):
            image_tools.save_image(root / f"{digit}_alice_{n}.png", image_tools.make_image(rng, digit, channels=1))
    (root / "README.md").write_text("not data")
    return root


def test_label_pattern_first_group(flat: Path) -> None:
    data = read_data(flat, label_pattern=r"^(\d+)_")
    assert data.config.class_names == ["2", "10"]  # integers sort numerically
    assert data.config.class_counts == [3, 2] and data.images.shape == (5, 1, 8, 8)
    assert any("ignored 1 files of other kinds" in n for n in data.notes)
    whole = read_data(flat, label_pattern=r"alice")  # no group: the whole match is the label
    assert whole.config.class_names == ["alice"]


def test_label_pattern_lists_files_that_do_not_match(flat: Path, image_tools) -> None:
    for name in ("x1.png", "x2.png", "x3.png", "x4.png", "x5.png", "x6.png"):
        image_tools.save_image(flat / name, np.zeros((8, 8, 1), np.uint8))
    with pytest.raises(GanaugError) as info:
        read_data(flat, label_pattern=r"^(\d+)_")
    message = str(info.value)
    assert "6 of 11 files do not match --label-pattern" in message
    assert "x1.png, x2.png, x3.png, x4.png, x5.png, ... (1 more)" in message and "--skip-bad" in message
    data = read_data(flat, label_pattern=r"^(\d+)_", skip_bad=True)
    assert len(data) == 5 and len(data.skipped) == 6
    with pytest.raises(GanaugError, match="not a valid regular expression"):
        read_data(flat, label_pattern="(")


def test_labels_csv(flat: Path, tmp_path: Path) -> None:
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label\n2_alice_0.png,cat\n2_alice_1.png,dog\n10_alice_0.png,cat\n\n# a comment\n")
    data = read_data(flat, labels=str(csv))
    assert data.config.class_names == ["cat", "dog"] and data.config.class_counts == [2, 1]
    assert any("ignored 2 files in DATA not named in labels.csv" in n for n in data.notes)
    csv.write_text("2_alice_0.png,cat\nmissing_a.png,dog\nmissing_b.png,dog\n")
    with pytest.raises(
        GanaugError, match=r"2 files named in .*labels.csv.* do not exist.*missing_a.png, missing_b.png"
    ):
        read_data(flat, labels=str(csv))
    assert len(read_data(flat, labels=str(csv), skip_bad=True)) == 1
    csv.write_text("2_alice_0.png,cat\n2_alice_0.png,dog\n")
    with pytest.raises(GanaugError, match="labelled both 'cat' and 'dog'"):
        read_data(flat, labels=str(csv))
    csv.write_text("2_alice_0.png\n")
    with pytest.raises(GanaugError, match="line 1: expected 'path,label'"):
        read_data(flat, labels=str(csv))


def test_labels_need_a_folder_and_one_source(flat: Path, tiny_npz: Path, tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="not both"):
        read_data(flat, labels="x.csv", label_pattern="(.)")
    with pytest.raises(GanaugError, match="--label-pattern read a folder of files, but DATA .* is not a folder"):
        read_data(tiny_npz, label_pattern="(.)")
    with pytest.raises(GanaugError, match="cannot read --labels file"):
        read_data(flat, labels=str(tmp_path / "nope.csv"))


def test_label_pattern_from_the_command_line(flat: Path) -> None:
    result = CliRunner().invoke(main, ["fit", str(flat), "--label-pattern", r"^(\d+)_", "--dry-run"])
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    assert resolved["data"]["class_names"] == ["2", "10"] and resolved["fit"]["label_pattern"] == r"^(\d+)_"
    result = CliRunner().invoke(main, ["fit", str(flat), "--label-pattern", "^nomatch(.)", "--dry-run"])
    assert result.exit_code == 1 and "do not match --label-pattern" in result.output


def test_flat_audio_folder_with_labels(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    root = tmp_path / "audio"
    root.mkdir()
    for digit in (1, 2):
        for n in range(2):
            t = np.arange(800) / 8000
            sf.write(root / f"{digit}_bob_{n}.wav", 0.3 * np.sin(2 * np.pi * 300 * digit * t), 8000)
    resolved = ganaug.fit(root, preset="spectrogram", label_pattern=r"^(\d)_", dry_run=True)
    assert resolved["data"]["class_names"] == ["1", "2"] and resolved["data"]["modality"] == "spectrogram"
