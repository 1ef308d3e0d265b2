"""The medical preset: 16-bit end to end, bit depth kept, DICOM (windowing, no pixel data), NIfTI slices, MedMNIST
sizes, augmentation limited to translation + cutout, card with a not-for-diagnosis note and class meanings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ganaug
from ganaug.cli import main
from ganaug.data import read_data
from ganaug.data.images import encode_png16, read_image
from ganaug.errors import GanaugError

TINY = {"arch": "dcgan", "ch": 8, "latent_dim": 16, "batch_size": 4, "steps": 2, "progress": False, "teacher_epochs": 0}


def cli(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_png16_folder(root: Path, classes: dict[str, int], top: int, size: int = 8, seed: int = 0) -> Path:
    """Gray 16-bit PNGs with values up to ``top``; class k is brighter in band k."""
    rng = np.random.default_rng(seed)
    for k, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = rng.integers(0, top // 4, (size, size, 1))
            img[k * 2 : k * 2 + 2] = top
            (root / name / f"{i:03d}.png").write_bytes(encode_png16(img.astype(np.uint16)))
    return root


def write_dicom(path: Path, pixels: np.ndarray | None, **tags) -> Path:
    """A DICOM file built with pydicom's own dataset API (uncompressed, explicit VR little endian)."""
    pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import BasicTextSRStorage, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage if pixels is not None else BasicTextSRStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    if pixels is not None:
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, tags.pop("photometric", "MONOCHROME2")
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        for key, value in tags.items():
            setattr(ds, key, value)
        ds.PixelData = pixels.astype("<u2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def dicom_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for k, name in enumerate(("benign", "malignant")):
        for i in range(3):
            pixels = rng.integers(500 + 2000 * k, 1500 + 2000 * k, (8, 8))
            write_dicom(tmp_path / "dcm" / name / f"{i}.dcm", pixels, RescaleSlope=1, RescaleIntercept=-1024)
    return tmp_path / "dcm"


# --- 16-bit end to end ---------------------------------------------------------------------------------------------


def test_16bit_folder_trains_and_samples_are_16bit_pngs(tiny_gray16_folder: Path, tmp_path: Path) -> None:
    run = ganaug.fit(tiny_gray16_folder, preset="medical", out=tmp_path / "runs", name="m", **TINY)
    data = json.loads((run.export / "config.json").read_text())["data"]
    assert (data["dtype"], data["value_range"], data["channels"]) == ("uint16", [0.0, 65535.0], 1)
    result = cli("sample", run.path, "--class", "a", "--n", "3", "--out", tmp_path / "s")
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "s").glob("*.png"))
    assert len(files) == 3
    assert files[0].read_bytes()[24] == 16  # PNG IHDR bit depth
    assert read_image(files[0]).dtype == np.uint16


def test_12bit_data_keeps_its_bit_depth(tmp_path: Path) -> None:
    folder = write_png16_folder(tmp_path / "d12", {"a": 3, "b": 3}, top=4095)
    run = ganaug.fit(folder, preset="medical", out=tmp_path / "runs", name="m", **TINY)
    g = run.load_generator()
    assert g.data.value_range == [0.0, 4095.0] and g.data.extra["bits_stored"] == 12
    values = g.to_data(g.sample("a", 4))
    assert values.dtype == np.uint16 and values.max() <= 4095
    natural = ganaug.fit(folder, dry_run=True)  # the natural preset keeps the full 16-bit range
    assert natural["data"]["value_range"] == [0.0, 65535.0]


def test_mixed_bit_depths_in_one_class_folder_are_converted_and_reported(tiny_gray16_folder: Path, image_tools) -> None:
    eight = image_tools.make_image(np.random.default_rng(1), 0, channels=1)
    image_tools.save_image(tiny_gray16_folder / "a" / "eight.png", eight)
    resolved = ganaug.fit(tiny_gray16_folder, preset="medical", dry_run=True)
    assert resolved["data"]["dtype"] == "uint16"
    assert any("converted 1 8-bit images to 16-bit" in n for n in resolved["notes"])


def test_gray_stored_as_rgb_trains_with_one_channel(image_folder_factory) -> None:
    root = image_folder_factory(channels=1)
    for path in root.glob("*/*.png"):
        from PIL import Image

        Image.open(path).convert("RGB").save(path)
    assert ganaug.fit(root, preset="medical", dry_run=True)["data"]["channels"] == 1
    assert ganaug.fit(root, preset="medical", channels=3, dry_run=True)["data"]["channels"] == 3
    assert ganaug.fit(root, dry_run=True)["data"]["channels"] == 3


# --- DICOM and NIfTI -------------------------------------------------------------------------------------------------


def test_dicom_stored_values_tags_and_window_option(dicom_folder: Path, tmp_path: Path) -> None:
    raw = read_data(dicom_folder)
    assert raw.config.dtype == "uint16" and raw.config.class_names == ["benign", "malignant"]
    assert any("no window tags: stored values kept" in n for n in raw.notes)
    assert ganaug.fit(dicom_folder, preset="medical", dry_run=True)["data"]["value_range"] == [0.0, 4095.0]
    windowed = read_data(dicom_folder, window="976,2000")  # rescaled values -24..1976 span the window
    from ganaug.data.convert import to_data

    values = to_data(windowed.images, windowed.config)
    assert values.dtype == np.uint16 and values.max() == 65535 and values.min() < 20000
    tagged = tmp_path / "tagged"
    pixels = np.arange(64).reshape(8, 8) * 10 + 1000
    write_dicom(tagged / "x" / "0.dcm", pixels, WindowCenter=291, WindowWidth=630, RescaleIntercept=-1024)
    write_dicom(tagged / "x" / "1.dcm", pixels, WindowCenter=1315, WindowWidth=630, photometric="MONOCHROME1")
    data = read_data(tagged)
    assert any("window from DICOM tags" in n for n in data.notes)
    assert any("MONOCHROME1 inverted" in n for n in data.notes)
    first, second = to_data(data.images, data.config)[:, :, :, 0]
    assert first[0, 0] == 0 and first[-1, -1] == 65535 and second[0, 0] == 65535  # inverted
    assert read_data(tagged, window="none").config.value_range == [0.0, 65535.0]
    with pytest.raises(GanaugError, match="center,width"):
        read_data(tagged, window="wide")


def test_dicom_without_extension_is_read(dicom_folder: Path) -> None:
    write_dicom(dicom_folder / "benign" / "IM0001", np.full((8, 8), 700))
    assert len(read_data(dicom_folder)) == 7


def test_dicom_without_pixel_data(dicom_folder: Path) -> None:
    report = write_dicom(dicom_folder / "benign" / "report.dcm", None)
    with pytest.raises(GanaugError, match="report.dcm.*without pixel data.*skip-bad"):
        read_data(dicom_folder)
    data = read_data(dicom_folder, skip_bad=True)
    assert len(data) == 6 and data.skipped[0][0] == str(report)


def test_nifti_volumes_become_slices(tmp_path: Path) -> None:
    nibabel = pytest.importorskip("nibabel")
    rng = np.random.default_rng(0)
    for k, name in enumerate(("a", "b")):
        volume = rng.normal(-500 + 800 * k, 50, (8, 8, 5)).astype(np.int16)
        volume[..., 0] = 0  # a constant slice: skipped
        (tmp_path / "nii" / name).mkdir(parents=True)
        nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / "nii" / name / "v.nii.gz")
    data = read_data(tmp_path / "nii")
    assert len(data) == 8 and data.config.dtype == "float32"  # Hounsfield-like signed values kept
    assert any("constant slices" in n for n in data.notes)
    windowed = read_data(tmp_path / "nii", window="0,1000")
    assert windowed.config.dtype == "uint16"


# --- MedMNIST sizes, presets, card ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "trained"), [(28, "28x28"), (64, "64x64"), (128, "128x128"), (224, "112x112")])
def test_medmnist_sizes(tmp_path: Path, size: int, trained: str) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / f"breastmnist_{size}.npz"
    np.savez(path, train_images=rng.integers(0, 255, (4, size, size), np.uint8), train_labels=np.array([[0], [1]] * 2))
    resolved = ganaug.fit(path, preset="medical", dry_run=True)
    assert resolved["fit"]["resolution"] == trained
    assert resolved["card"]["classes"] == {"0": "malignant", "1": "normal, benign"}
    if size == 224:
        run = ganaug.fit(path, preset="medical", out=tmp_path / "runs", name="r", **{**TINY, "arch": "mlp", "steps": 1})
        assert run.load_generator().sample("1", 1).shape == (1, 1, 112, 112)


def test_medical_dry_run_shows_preset_and_augmentation(tiny_npz: Path) -> None:
    result = cli("fit", tiny_npz, "--preset", "medical", "--dry-run")
    resolved = json.loads(result.output)
    assert resolved["fit"]["augment"] == "translation,cutout" and resolved["preset"]["name"] == "medical"
    asked = json.loads(
        cli("fit", tiny_npz, "--preset", "medical", "--augment", "color,translation", "--dry-run").output
    )
    assert asked["fit"]["augment"] == "color,translation"


def test_presets_listed_and_every_field_overridable(tiny_folder: Path) -> None:
    from ganaug.presets import PRESETS

    assert "Presets: natural, medical, spectrogram" in " ".join(cli("fit", "--help").output.split())
    info = cli("info").output
    assert all(f"  {name}" in info for name in PRESETS)
    assert ganaug.fit(tiny_folder, dry_run=True)["fit"]["preset"] == "natural"
    overrides = {"augment": "cutout", "duration": 0.5, "n_mels": 16}
    for name, preset in PRESETS.items():
        for key in preset.fit:
            cfg = ganaug.config.FitConfig(preset=name, **{key: overrides[key]})
            resolved = ganaug.fitting.resolve_config(cfg, {key})
            assert getattr(resolved, key) == overrides[key], (name, key)


def test_card_has_not_for_diagnosis_note_and_class_meanings(tiny_gray16_folder: Path, tmp_path: Path) -> None:
    meanings = tmp_path / "meanings.json"
    meanings.write_text(json.dumps({"a": "no finding", "1": "nodule"}))
    run = ganaug.fit(
        tiny_gray16_folder, preset="medical", class_meanings=str(meanings), out=tmp_path / "r", name="m", **TINY
    )
    card = (run.export / "README.md").read_text()
    assert "**Not for diagnosis.**" in card
    assert "| 0 | `a` | no finding |" in card and "| 1 | `b` | nodule |" in card
    inline = ganaug.fit(tiny_gray16_folder, preset="medical", class_meanings="a=clear; b=mass", dry_run=True)
    assert inline["card"]["classes"] == {"a": "clear", "b": "mass"}
    with pytest.raises(GanaugError, match="class 'c', which the data does not have"):
        ganaug.fit(tiny_gray16_folder, preset="medical", class_meanings="c=x", dry_run=True)


def test_breastmnist_medical_dry_run(shared_data: Path) -> None:
    npz = shared_data / "medmnist_breastmnist" / "breastmnist.npz"
    resolved = ganaug.fit(npz, preset="medical", dry_run=True)
    assert resolved["fit"]["augment"] == "translation,cutout" and resolved["fit"]["resolution"] == "28x28"
    assert resolved["data"]["class_counts"] == [147, 399]
    assert resolved["card"]["classes"]["0"] == "malignant" and resolved["card"]["dataset"]["name"] == "BreastMNIST"
