"""Data readers: class folders, .npz, Hugging Face datasets; conversion between data space and model space."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganaug.config import DataConfig
from ganaug.data import LabelledData, read_data
from ganaug.data.convert import IMAGE_SUFFIXES, read_image, to_data, to_model, write_sample
from ganaug.errors import GanaugError

# --- class folders ----------------------------------------------------------------------------------------------


def test_read_tiny_folder(tiny_folder: Path) -> None:
    data = read_data(tiny_folder)
    assert isinstance(data, LabelledData)
    assert data.images.shape == (12, 3, 8, 8) and data.images.dtype == torch.float32
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == [0] * 6 + [1] * 4 + [2] * 2
    assert -1 <= data.images.min() and data.images.max() <= 1
    cfg = data.config
    assert (cfg.modality, cfg.format, cfg.source) == ("image", "folder", str(tiny_folder))
    assert (cfg.height, cfg.width, cfg.channels, cfg.dtype, cfg.file_format) == (8, 8, 3, "uint8", "png")
    assert cfg.value_range == [0.0, 255.0]
    assert cfg.class_names == ["circle", "square", "triangle"] and cfg.class_counts == [6, 4, 2]
    assert data.skipped == [] and len(data) == 12
    DataConfig.from_dict(cfg.to_dict())  # valid choices, JSON-able


def test_folder_pixels_round_trip(tiny_folder: Path) -> None:
    data = read_data(tiny_folder)
    first = np.asarray(Image.open(tiny_folder / "circle" / "circle_000.png"))
    assert np.array_equal(to_data(data.images[0], data.config), first)


def test_hidden_files_and_top_level_files_ignored(tiny_folder: Path) -> None:
    (tiny_folder / "circle" / ".DS_Store").write_bytes(b"junk")
    (tiny_folder / "circle" / ".hidden.png").write_bytes(b"junk")
    (tiny_folder / ".cache").mkdir()
    (tiny_folder / ".cache" / "x.png").write_bytes(b"junk")
    (tiny_folder / "README.md").write_text("about this data")
    data = read_data(tiny_folder)
    assert data.config.class_names == ["circle", "square", "triangle"] and len(data) == 12


@pytest.mark.parametrize(
    "name,content",
    [
        ("zero.png", b""),
        ("notes.txt", b"not an image"),
        ("fake.png", b"this is text pretending to be a png"),
        ("truncated.png", "truncated"),
        ("truncated.jpg", "truncated"),
    ],
)
def test_bad_files(tiny_folder: Path, name: str, content: bytes | str, image_tools) -> None:
    bad = tiny_folder / "square" / name
    if content == "truncated":
        image_tools.save_image(bad, image_tools.make_image(np.random.default_rng(1), 0, size=(32, 32)))
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    else:
        bad.write_bytes(content)
    with pytest.raises(GanaugError, match="--skip-bad") as info:
        read_data(tiny_folder)
    assert str(bad) in str(info.value)
    data = read_data(tiny_folder, skip_bad=True)
    assert len(data) == 12 and [p for p, _ in data.skipped] == [str(bad)]
    assert any("skipped 1" in n for n in data.notes)


def test_class_of_only_bad_files_is_an_error(tiny_folder: Path) -> None:
    for f in (tiny_folder / "triangle").iterdir():
        f.write_bytes(b"")
    with pytest.raises(GanaugError, match="triangle.*no readable images"):
        read_data(tiny_folder, skip_bad=True)


def test_empty_class_folder(tiny_folder: Path) -> None:
    (tiny_folder / "empty_class").mkdir()
    with pytest.raises(GanaugError, match="empty_class.*is empty"):
        read_data(tiny_folder)


def test_files_directly_in_data(tmp_path: Path, image_tools) -> None:
    for i in range(3):
        image_tools.save_image(tmp_path / "flat" / f"{i}.png", image_tools.make_image(np.random.default_rng(i), 0))
    with pytest.raises(GanaugError, match=r"no class subfolders.*DATA/<class>/<file>.*--labels .*--label-pattern"):
        read_data(tmp_path / "flat")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(GanaugError, match="is empty"):
        read_data(tmp_path / "nothing")


def test_single_class_is_allowed(image_folder_factory) -> None:
    data = read_data(image_folder_factory(class_counts={"only": 3}))
    assert data.config.class_names == ["only"] and data.config.num_classes == 1 and data.labels.tolist() == [0] * 3
    assert any("unconditional" in n for n in data.notes)


def test_mismatched_sizes_are_resized(tiny_folder: Path, image_tools) -> None:
    image_tools.save_image(
        tiny_folder / "square" / "big.png", image_tools.make_image(np.random.default_rng(0), 1, size=(12, 10))
    )
    data = read_data(tiny_folder)
    assert data.images.shape == (13, 3, 8, 8)
    assert any("resized 1 images of other sizes (12x10) to 8x8" in n for n in data.notes)


def test_resolution_option(tiny_folder: Path) -> None:
    data = read_data(tiny_folder, resolution=4)
    assert data.images.shape == (12, 3, 4, 4) and (data.config.height, data.config.width) == (4, 4)
    assert any("from 8x8 to 4x4" in n for n in data.notes)
    assert read_data(tiny_folder, resolution="16x12").images.shape[-2:] == (16, 12)
    with pytest.raises(GanaugError, match="resolution"):
        read_data(tiny_folder, resolution="huge")


def test_channels_most_common_and_override(image_folder_factory, image_tools) -> None:
    root = image_folder_factory(class_counts={"a": 3, "b": 2}, channels=1)
    image_tools.save_image(root / "a" / "rgb.png", image_tools.make_image(np.random.default_rng(0), 0, channels=3))
    data = read_data(root)
    assert data.config.channels == 1 and data.images.shape == (6, 1, 8, 8)
    assert any("converted 1 images from 3 to 1 channels" in n for n in data.notes)
    data3 = read_data(root, channels=3)
    assert data3.images.shape == (6, 3, 8, 8)
    assert torch.equal(data3.images[1, 0], data3.images[1, 2])  # gray replicated
    with pytest.raises(GanaugError, match="channels=2"):
        read_data(root, channels=2)


def test_rgba_folder(image_folder_factory) -> None:
    data = read_data(image_folder_factory(channels=4))
    assert data.config.channels == 4 and data.images.shape[1] == 4
    assert torch.all(data.images[:, 3] == 1)  # opaque alpha kept
    rgb = read_data(image_folder_factory(name="rgb", channels=4), channels=3)
    assert rgb.images.shape[1] == 3


def test_16bit_png_folder(tiny_gray16_folder: Path) -> None:
    data = read_data(tiny_gray16_folder)
    cfg = data.config
    assert (cfg.dtype, cfg.value_range, cfg.channels, cfg.file_format) == ("uint16", [0.0, 65535.0], 1, "png")
    original = read_image(tiny_gray16_folder / "a" / "a_000.png")
    assert original.dtype == np.uint16 and original.max() > 255
    assert np.array_equal(to_data(data.images[0], cfg), original)


def test_16bit_rgb_png_and_tiff_folders(image_folder_factory) -> None:
    for suffix, fmt in ((".png", "png"), (".tiff", "tiff")):
        root = image_folder_factory(name=fmt, bits=16, suffix=suffix)
        data = read_data(root)
        assert (data.config.dtype, data.config.file_format, data.config.channels) == ("uint16", fmt, 3)
        original = read_image(root / "circle" / f"circle_000{suffix}")
        assert original.dtype == np.uint16 and original.max() > 255
        assert np.array_equal(to_data(data.images[0], data.config), original)


def test_mixed_8_and_16_bit(tiny_gray16_folder: Path, image_tools) -> None:
    eight = image_tools.make_image(np.random.default_rng(0), 0, channels=1)
    image_tools.save_image(tiny_gray16_folder / "b" / "eight.png", eight)
    data = read_data(tiny_gray16_folder)
    assert data.config.dtype == "uint16"
    assert any("converted 1 8-bit images to 16-bit" in n for n in data.notes)
    index = len(data) - 1  # "eight.png" sorts last in class b
    assert np.array_equal(to_data(data.images[index], data.config), eight.astype(np.uint16) * 257)


def test_float_npy_folder(image_folder_factory) -> None:
    root = image_folder_factory(channels=1, suffix=".npy", float_data=True)
    arrays = [np.load(p) for p in sorted(root.glob("*/*.npy"))]
    data = read_data(root)
    cfg = data.config
    assert (cfg.dtype, cfg.file_format, cfg.channels) == ("float32", "npy", 1)
    lo, hi = min(a.min() for a in arrays), max(a.max() for a in arrays)
    assert cfg.value_range == pytest.approx([lo, hi])
    assert data.images.min() == -1 and data.images.max() == 1
    back = to_data(data.images[0], cfg)
    assert back.dtype == np.float32 and np.allclose(
        back[..., 0], np.load(root / "circle" / "circle_000.npy"), atol=1e-5
    )


def test_8bit_and_float_tiffs_in_one_folder_share_one_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (6, 6), dtype=np.uint8)
    (tmp_path / "d" / "a").mkdir(parents=True)
    Image.fromarray(gray).save(tmp_path / "d" / "a" / "eight.tif")
    Image.fromarray(gray.astype(np.float32) / 255, mode="F").save(tmp_path / "d" / "a" / "float.tif")
    data = read_data(tmp_path / "d")
    assert data.config.value_range == [0.0, 1.0] and data.config.dtype == "float32"
    assert torch.allclose(data.images[0], data.images[1], atol=1e-6)  # the same picture, whatever its file type
    assert any("rescaled to [0, 1] (uint8 / 255)" in note for note in data.notes)
    Image.fromarray(gray.astype(np.float32) * 4, mode="F").save(tmp_path / "d" / "a" / "float.tif")
    with pytest.raises(GanaugError, match=r"mixes integer images \(1 uint8\) with float images.*outside \[0, 1\]"):
        read_data(tmp_path / "d")


def test_constant_float_data_widens_range(tmp_path: Path) -> None:
    (tmp_path / "d" / "a").mkdir(parents=True)
    np.save(tmp_path / "d" / "a" / "x.npy", np.ones((4, 4)))
    data = read_data(tmp_path / "d")
    assert data.config.value_range == [1.0, 2.0]


# --- single files and conversions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif", ".npy"])
@pytest.mark.parametrize("channels", [1, 3])
def test_read_image_formats(tmp_path: Path, suffix: str, channels: int, image_tools) -> None:
    img = image_tools.make_image(np.random.default_rng(0), 1, channels=channels)
    back = read_image(image_tools.save_image(tmp_path / f"x{suffix}", img))
    assert back.shape == img.shape and back.dtype == np.uint8
    if suffix != ".jpg":
        assert np.array_equal(back, img)
    assert suffix in IMAGE_SUFFIXES


def test_read_image_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(GanaugError, match=r"bad\.png.*accepted formats: PNG"):
        read_image(bad)
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(GanaugError, match="empty.tif.*zero-byte"):
        read_image(tmp_path / "empty.tif")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4, 5)))
    with pytest.raises(GanaugError, match="cube.npy.*shape"):
        read_image(tmp_path / "cube.npy")


def test_an_image_too_large_for_its_file_is_refused_from_its_header(tmp_path: Path, monkeypatch) -> None:
    Image.new("1", (10000, 10000)).save(tmp_path / "bomb.png")  # 100 megapixels in a few kilobytes
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    with pytest.raises(
        GanaugError, match=r"bomb\.png.* is 10000x10000 pixels \(100 megapixels\), over the limit of 64"
    ):
        read_image(tmp_path / "bomb.png")
    Image.new("L", (40, 30)).save(tmp_path / "small.png")
    monkeypatch.setenv("GANAUG_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(GanaugError, match=r"small\.png.* 40x30 .*GANAUG_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "small.png")
    monkeypatch.setenv("GANAUG_MAX_IMAGE_PIXELS", "1200")
    assert read_image(tmp_path / "small.png").shape == (30, 40, 1)


def test_a_stray_huge_label_is_a_clear_error_not_a_huge_allocation(tmp_path: Path) -> None:
    labels = np.array([0, 1, 0, 10**12])
    np.savez(tmp_path / "bad.npz", train_images=np.zeros((4, 8, 8), np.uint8), train_labels=labels)
    with pytest.raises(GanaugError, match=r"holds the label 1000000000000 among only 3 distinct value\(s\)"):
        read_data(str(tmp_path / "bad.npz"))
    labels[-1] = 5  # sparse but plausible: classes 2-4 are empty
    np.savez(tmp_path / "ok.npz", train_images=np.zeros((4, 8, 8), np.uint8), train_labels=labels)
    assert read_data(str(tmp_path / "ok.npz")).config.num_classes == 6


def test_png16_decoder_handles_every_filter(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 65536, (5, 4, 3), dtype=np.uint16)
    raw = img.astype(">u2").view(np.uint8).reshape(5, -1).astype(int)
    rows, prev, bpp = [], np.zeros(raw.shape[1], int), 6
    for y, kind in enumerate([0, 1, 2, 3, 4]):
        cur = raw[y]
        left = np.concatenate([np.zeros(bpp, int), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, int), prev[:-bpp]])
        p = left + prev - upleft
        pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        pred = [0, left, prev, (left + prev) // 2, paeth][kind]
        rows.append(bytes([kind]) + bytes(((cur - pred) % 256).astype(np.uint8)))
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 4, 5, 16, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
    (tmp_path / "f.png").write_bytes(png + chunk(b"IEND", b""))
    assert np.array_equal(read_image(tmp_path / "f.png"), img)


@pytest.mark.parametrize("dtype,top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_to_data_inverts_to_model(dtype, top: int, channels: int) -> None:
    x = np.random.default_rng(0).integers(0, top + 1, (16, 16, channels)).astype(dtype)
    x.flat[:2] = [0, top]
    cfg = DataConfig(dtype=np.dtype(dtype).name, value_range=[0.0, float(top)], channels=channels)
    m = to_model(x, cfg.value_range)
    assert m.shape == (channels, 16, 16) and m.dtype == torch.float32 and m.min() == -1 and m.max() == 1
    assert np.array_equal(to_data(m, cfg), x)
    assert np.array_equal(to_data(m[None], cfg)[0], x)  # batched
    assert to_model(x[..., 0], cfg.value_range).shape == (1, 16, 16)


def test_to_data_clips_and_rounds() -> None:
    cfg = DataConfig(dtype="uint8", value_range=[0.0, 255.0])
    out = to_data(torch.tensor([[[-3.0, 0.0, 5.0]]]), cfg)
    assert out.dtype == np.uint8 and out[..., 0].tolist() == [[0, 128, 255]]


@pytest.mark.parametrize("dtype,top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_write_sample_png_reads_back_equal(tmp_path: Path, dtype, top: int, channels: int) -> None:
    x = np.random.default_rng(0).integers(0, top + 1, (6, 7, channels)).astype(dtype)
    cfg = DataConfig(dtype=np.dtype(dtype).name, value_range=[0.0, float(top)], file_format="png")
    path = write_sample(tmp_path / "s.jpg", x, cfg)
    assert path == tmp_path / "s.png" and not list(tmp_path.glob(".*tmp"))
    assert np.array_equal(read_image(path), x)
    with Image.open(path) as img:  # a valid PNG for other readers too
        assert img.size == (7, 6)


@pytest.mark.parametrize("fmt,dtype", [("npy", "float32"), ("tiff", "uint16"), ("tiff", "uint8"), ("npy", "uint16")])
def test_write_sample_npy_tiff(tmp_path: Path, fmt: str, dtype: str) -> None:
    x = (np.random.default_rng(0).random((5, 5, 3)) * 1000).astype(dtype)
    path = write_sample(tmp_path / "s", x, DataConfig(dtype=dtype, file_format=fmt))
    assert path.suffix == f".{fmt}" and np.array_equal(read_image(path), x)


def test_write_sample_float_png_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="npy"):
        write_sample(tmp_path / "s.png", np.zeros((4, 4, 1), np.float32), DataConfig(file_format="png"))


# --- .npz -------------------------------------------------------------------------------------------------------


def test_read_npz(tiny_npz: Path) -> None:
    data = read_data(tiny_npz)
    cfg = data.config
    assert data.images.shape == (12, 1, 8, 8) and data.labels.tolist() == [0, 1] * 6
    assert (cfg.format, cfg.class_names, cfg.class_counts, cfg.dtype, cfg.file_format) == (
        "npz",
        ["0", "1"],
        [6, 6],
        "uint8",
        "png",
    )
    with np.load(tiny_npz) as npz:
        assert np.array_equal(to_data(data.images, cfg)[..., 0], npz["train_images"])
    assert len(read_data(tiny_npz, split="test")) == 6


def test_npz_missing_key_lists_keys(tiny_npz: Path) -> None:
    with pytest.raises(
        GanaugError, match=r"no 'valid_images'.*keys found: train_images.*splits found: test, train, val"
    ):
        read_data(tiny_npz, split="valid")


def test_npz_flat_rgb_labels_and_multilabel(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    np.savez(tmp_path / "rgb.npz", train_images=images, train_labels=np.array([0, 2, 2, 0, 2]))
    data = read_data(tmp_path / "rgb.npz")
    assert data.config.channels == 3 and data.config.class_names == ["0", "1", "2"]
    assert data.config.class_counts == [2, 0, 3] and any("no train samples: 1" in n for n in data.notes)
    np.savez(tmp_path / "multi.npz", train_images=images, train_labels=np.zeros((5, 4), np.uint8))
    with pytest.raises(GanaugError, match="Multi-label"):
        read_data(tmp_path / "multi.npz")


# --- dispatch -----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_linked_folders_never_loop_or_pull_another_class_in(tmp_path: Path) -> None:
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / c / f"{i}.png")
    os.symlink("..", tmp_path / "a" / "loop")  # up to DATA: every class, forever
    os.symlink("../b", tmp_path / "b" / "self")  # into itself
    os.symlink("../b", tmp_path / "a" / "other")  # into another class
    shared = tmp_path.parent / f"{tmp_path.name}-shared"
    shared.mkdir()
    Image.new("L", (8, 8), 200).save(shared / "extra.png")
    os.symlink(shared, tmp_path / "b" / "extra")  # a folder outside DATA: followed
    for skip in (False, True):
        data = read_data(str(tmp_path), skip_bad=skip)
        assert data.config.class_names == ["a", "b"] and data.config.class_counts == [3, 4] and not data.skipped


def test_dispatch_errors(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="nowhere.*does not exist.*class"):
        read_data(tmp_path / "nowhere")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(GanaugError, match="model.pt.*pickle.*accepted"):
        read_data(tmp_path / "model.pt")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GanaugError, match=r"notes.txt.*\.npz"):
        read_data(tmp_path / "notes.txt")
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(GanaugError, match="broken.npz"):
        read_data(tmp_path / "broken.npz")
    with pytest.raises(GanaugError, match="must be a path"):
        read_data(42)


# --- Hugging Face -----------------------------------------------------------------------------------------------


def test_hf_save_to_disk(tiny_hf_disk: Path) -> None:
    data = read_data(tiny_hf_disk)
    cfg = data.config
    assert data.images.shape == (6, 3, 8, 8) and data.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert (cfg.format, cfg.class_names, cfg.class_counts, cfg.dtype) == ("hf", ["cat", "dog"], [3, 3], "uint8")


def test_hf_dataset_dict_and_int_labels(tmp_path: Path, image_tools) -> None:
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(0)
    rows = {
        "img": [Image.fromarray(image_tools.make_image(rng, k % 3)) for k in range(6)],
        "label": [k % 3 for k in range(6)],
    }
    features = datasets.Features({"img": datasets.Image(), "label": datasets.Value("int64")})
    ds = datasets.Dataset.from_dict(rows, features=features)
    datasets.DatasetDict({"train": ds, "test": ds.select(range(2))}).save_to_disk(str(tmp_path / "dd"))
    data = read_data(tmp_path / "dd", split="test")  # labels 0, 1 only; class 2 is seen in the train split
    assert len(data) == 2 and data.config.class_names == ["0", "1", "2"] and data.config.class_counts == [1, 1, 0]
    assert read_data(tmp_path / "dd").config.class_counts == [2, 2, 2]
    with pytest.raises(GanaugError, match="no split 'validation'.*train"):
        read_data(tmp_path / "dd", split="validation")
    no_label = datasets.Dataset.from_dict({"img": rows["img"]}, features=datasets.Features({"img": datasets.Image()}))
    with pytest.raises(GanaugError, match="no class-label column"):
        read_data(no_label)


def test_hf_imagefolder(tiny_folder: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("imagefolder", data_dir=str(tiny_folder), split="train", cache_dir=str(tmp_path / "c"))
    data = read_data(ds)
    assert data.config.class_names == ["circle", "square", "triangle"]
    assert sorted(data.config.class_counts) == [2, 4, 6] and data.images.shape == (12, 3, 8, 8)


def test_hf_prefix_calls_load_dataset(tiny_hf_disk: Path, monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(name, split):
        calls.append((name, split))
        return datasets.load_from_disk(str(tiny_hf_disk))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    data = read_data("hf:someone/tiny", split="train")
    assert calls == [("someone/tiny", "train")] and data.config.source == "hf:someone/tiny"


# --- real datasets ------------------------------------------------------------------------------------------------


@pytest.mark.data
def test_breastmnist(shared_data: Path) -> None:
    data = read_data(shared_data / "medmnist_breastmnist" / "breastmnist.npz")
    assert data.images.shape == (546, 1, 28, 28) and data.config.class_names == ["0", "1"]
    assert sum(data.config.class_counts) == 546


@pytest.mark.data
def test_cifar10_subset(shared_data: Path) -> None:
    data = read_data(shared_data / "cifar10_test_subset")
    assert data.images.shape == (1000, 3, 32, 32) and len(data.config.class_names) == 10
    assert data.config.class_counts == [100] * 10 and data.config.class_names[0] == "airplane"


def test_fixture_helper_writes_layout(tmp_path: Path, image_tools) -> None:
    root = image_tools.make_image_folder(tmp_path / "x", {"b": 1, "a": 2}, size=(5, 6), channels=1)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == [
        "a/a_000.png",
        "a/a_001.png",
        "b/b_000.png",
    ]
