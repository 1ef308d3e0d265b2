"""GANAugment (torchvision v2): output type/size/channels/dtype/range per input type, labels, options, workers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset
from torchvision import tv_tensors
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from ganaug import GANAugment
from ganaug.errors import GanaugError
from ganaug.generation.datasets import TransformedDataset
from ganaug.transforms import functional as F

from .pipeline_support import breast_items, breast_run

rng = np.random.default_rng(0)


def _pil(mode: str, size=(13, 9)) -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array)


def _u8(shape) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8)


MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.mark.parametrize("run_name", ["tiny_run", "tiny_gray_run"])  # RGB and gray generators: channels converted
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_pil_in_pil_out(request, run_name, mode):
    t = GANAugment(request.getfixturevalue(run_name), p=1.0, seed=0)
    image = _pil(mode)
    out, label = t(image, 1)
    assert isinstance(out, Image.Image) and out.mode == mode and out.size == image.size and label == 1
    assert not np.array_equal(np.asarray(out), np.asarray(image))
    if mode == "RGBA":
        assert (np.asarray(out)[..., 3] == 255).all()  # opaque alpha for a generator without one


def test_pil_16bit(tiny_gray_run):
    image = Image.fromarray(rng.integers(0, 65535, (10, 10), dtype=np.uint16))
    out, _ = GANAugment(tiny_gray_run, p=1.0, seed=0)(image, 0)
    assert out.mode == image.mode and out.size == image.size
    assert np.asarray(out).max() > 255  # the 16-bit scale, not 8-bit values in a 16-bit image


@pytest.mark.parametrize(
    "make, dtype, low, high",
    [
        (lambda: _u8((3, 16, 12)), torch.uint8, 0, 255),
        (lambda: _u8((1, 16, 12)), torch.uint8, 0, 255),
        (lambda: _u8((16, 12)), torch.uint8, 0, 255),
        (lambda: torch.rand(3, 16, 12), torch.float32, 0.0, 1.0),
        (lambda: torch.rand(1, 16, 12, dtype=torch.float64), torch.float64, 0.0, 1.0),
        (lambda: torch.rand(3, 16, 12) * 2 - 1, torch.float32, -1.0, 1.0),  # Normalize(0.5, 0.5), detected
    ],
)
@pytest.mark.parametrize("run_name", ["tiny_run", "tiny_gray_run"])
def test_tensor_in_tensor_out(request, run_name, make, dtype, low, high):
    image = make()
    out, _ = GANAugment(request.getfixturevalue(run_name), p=1.0, seed=0)(image, 1)
    assert type(out) is torch.Tensor and out.shape == image.shape and out.dtype == dtype
    assert out.min() >= low and out.max() <= high
    assert not torch.equal(out, image)


def test_normalised_tensor_with_mean_std(tiny_run):
    image = v2.Normalize(MEAN, STD)(torch.rand(3, 20, 20))
    out, _ = GANAugment(tiny_run, p=1.0, seed=0, mean=MEAN, std=STD)(image, 0)
    assert out.shape == image.shape and out.dtype == torch.float32
    for c in range(3):
        lo, hi = (0 - MEAN[c]) / STD[c], (1 - MEAN[c]) / STD[c]
        assert lo - 1e-5 <= out[c].min() and out[c].max() <= hi + 1e-5
    # the same sample mapped through the inverse normalisation lands in [0, 1]
    unit = out * torch.tensor(STD)[:, None, None] + torch.tensor(MEAN)[:, None, None]
    assert unit.min() >= -1e-5 and unit.max() <= 1 + 1e-5


def test_normalised_tensor_detected_from_range_warns(tiny_run):
    image = v2.Normalize(MEAN, STD)(torch.rand(3, 20, 20))
    with pytest.warns(UserWarning, match="mean= and std="):
        F._warned_guess = False
        out, _ = GANAugment(tiny_run, p=1.0, seed=0)(image, 0)
    lows, highs = image.amin(dim=(1, 2)), image.amax(dim=(1, 2))
    assert (out.amin(dim=(1, 2)) >= lows - 1e-5).all() and (out.amax(dim=(1, 2)) <= highs + 1e-5).all()


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_tv_image(tiny_run, dtype):
    image = tv_tensors.Image(_u8((3, 10, 14)) if dtype == torch.uint8 else torch.rand(3, 10, 14))
    out, _ = GANAugment(tiny_run, p=1.0, seed=0)({"image": image, "label": 2}).values()
    assert isinstance(out, tv_tensors.Image) and out.shape == image.shape and out.dtype == dtype
    assert out.min() >= 0 and out.max() <= (255 if dtype == torch.uint8 else 1)


def test_batch_with_label_per_row(tiny_run):
    images, labels = _u8((6, 3, 8, 8)), torch.tensor([0, 1, 2, 0, 1, 2])
    out, same = GANAugment(tiny_run, p=1.0, seed=0, classes=["circle", "square"])(images, labels)
    assert out.shape == images.shape and out.dtype == torch.uint8 and same is labels
    replaced = [not torch.equal(out[i], images[i]) for i in range(6)]
    assert replaced == [True, True, False, True, True, False]


def test_probability_and_class_filter(tiny_run):
    image = _pil("RGB")
    assert GANAugment(tiny_run, p=0.0)(image, 0)[0] is image
    t = GANAugment(tiny_run, p=1.0, classes="triangle")
    assert t(image, 0)[0] is image and t(image, 2)[0] is not image
    torch.manual_seed(0)
    half = GANAugment(tiny_run, p=0.5)
    changed = sum(half(image, 1)[0] is not image for _ in range(200))
    assert 70 < changed < 130


def test_mix_blends_with_the_real_image(tiny_run):
    image = torch.full((3, 8, 8), 255, dtype=torch.uint8)
    replaced, _ = GANAugment(tiny_run, p=1.0, seed=4)(image, 1)
    mixed, _ = GANAugment(tiny_run, p=1.0, seed=4, mode="mix", mix_weight=(0.5, 0.5))(image, 1)
    expected = (replaced.float() * 0.5 + 127.5).round()
    assert (mixed.float() - expected).abs().max() <= 1
    pil_mixed, _ = GANAugment(tiny_run, p=1.0, seed=4, mode="mix")(_pil("L"), 1)
    assert pil_mixed.mode == "L"


def test_labels_found_like_v2_or_by_getter(tiny_run):
    t = GANAugment(tiny_run, p=1.0, seed=0)
    image = _pil("RGB")
    assert t(image, torch.tensor(1))[1].item() == 1
    assert t((image, "square"))[1] == "square"
    out = t(image, {"labels": 2, "boxes": None})
    assert isinstance(out[0], Image.Image) and out[1]["labels"] == 2
    assert t({"img": image, "class_label": np.int64(0)})["img"] is not image
    custom = GANAugment(tiny_run, p=1.0, labels_getter=lambda sample: sample[0]["y"])
    assert isinstance(custom({"y": 1}, image)[1], Image.Image)


def test_picklable_and_reproducible(tiny_run):
    t = GANAugment(tiny_run, p=1.0, seed=9)
    clone = pickle.loads(pickle.dumps(t))
    assert clone.sampler._generator is None
    image = _u8((3, 8, 8))
    assert torch.equal(clone(image, 0)[0], GANAugment(tiny_run, p=1.0, seed=9)(image, 0)[0])
    assert "p=1.0" in repr(t)


def test_without_label_single_class_generator_works(tmp_path):
    import ganaug

    from .helpers import TINY, write_class_folder

    data = write_class_folder(tmp_path / "data", {"a": 4})
    run = ganaug.fit(data, **TINY, steps=1, out=tmp_path / "runs", progress=False)
    out = GANAugment(run.path, p=1.0, labels_getter=None)(_pil("L"))
    assert isinstance(out, Image.Image) and out.mode == "L"


def test_bad_input(tiny_run, tmp_path):
    t = GANAugment(tiny_run, p=1.0)
    with pytest.raises(GanaugError, match="needs each sample's class label"):
        t(_pil("RGB"))
    image = _pil("RGB")
    assert GANAugment(tiny_run, p=0.0)(image) is image  # p=0 replaces nothing, so it needs no label
    with pytest.raises(GanaugError, match="out of range"):
        t(_pil("RGB"), 7)
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        t(_pil("RGB"), "hexagon")
    with pytest.raises(GanaugError, match="Supported inputs: PIL images of mode L, RGB, RGBA or I;16"):
        t(_pil("RGB").convert("P"), 0)
    with pytest.raises(GanaugError, match="dtype torch.int32"):
        t(torch.zeros(3, 4, 4, dtype=torch.int32), 0)
    with pytest.raises(GanaugError, match="shape"):
        t(torch.zeros(7, 5, 5), 0)
    with pytest.raises(GanaugError, match="numpy array of shape"):
        F.describe(np.zeros((2, 3, 4, 5)))
    for p in (1.5, -0.1, "half"):
        with pytest.raises(GanaugError, match=r"p must be a probability in \[0, 1\]"):
            GANAugment(tiny_run, p=p)
    with pytest.raises(GanaugError, match="mode must be one of"):
        GANAugment(tiny_run, mode="swap")
    with pytest.raises(GanaugError, match="mix_weight"):
        GANAugment(tiny_run, mix_weight=(0.8, 0.2))
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        GANAugment(tiny_run, classes=["hexagon"])
    with pytest.raises(GanaugError, match="not a ganaug model"):
        GANAugment(tmp_path)


def _check_batch(images: torch.Tensor, labels: torch.Tensor, channels: int, size: int) -> None:
    assert images.dtype == torch.float32 and images.shape[1:] == (channels, size, size)
    assert images.min() >= 0 and images.max() <= 1


def test_dataloader_workers_cifar_image_folder(shared_data, tiny_run):
    folder = ImageFolder(shared_data / "cifar10_test_subset")
    keep = [i for i, y in enumerate(folder.targets) if y < 3][::10]  # airplane, automobile, bird: 30 images
    pipeline = v2.Compose([GANAugment(tiny_run, p=1.0), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    real = TransformedDataset(Subset(folder, keep), v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]))
    loader = DataLoader(TransformedDataset(Subset(folder, keep), pipeline), batch_size=8, num_workers=2)
    batches = list(loader)
    images = torch.cat([b[0] for b in batches])
    labels = torch.cat([b[1] for b in batches])
    assert len(images) == len(keep)
    _check_batch(images, labels, 3, 32)
    assert labels.tolist() == [folder.targets[i] for i in keep]
    assert not torch.allclose(images[0], real[0][0])


def test_dataloader_workers_breastmnist(shared_data, tmp_path_factory):
    run = breast_run(shared_data, tmp_path_factory)
    items = breast_items(shared_data, "test")[:40]
    pipeline = v2.Compose([GANAugment(run, p=1.0), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    loader = DataLoader(TransformedDataset(items, pipeline), batch_size=10, num_workers=2)
    for images, labels in loader:
        _check_batch(images, labels, 1, 28)
