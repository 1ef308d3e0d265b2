"""SyntheticMixDataset, ClassBalancedDataset and TransformedDataset over lists, ImageFolder, Hugging Face datasets."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from ganaug import ClassBalancedDataset, GANAugment, SyntheticMixDataset, TransformedDataset
from ganaug.errors import GanaugError

from .pipeline_support import breast_items, breast_run

rng = np.random.default_rng(0)


def _items(counts=(6, 4, 2), size=(12, 10), mode="RGB") -> list[tuple[Image.Image, int]]:
    channels = {"L": 1, "RGB": 3}[mode]
    out = []
    for label, n in enumerate(counts):
        for _ in range(n):
            array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
            out.append((Image.fromarray(array[..., 0] if channels == 1 else array), label))
    return out


def test_ratio_mix_of_a_list(tiny_run):
    real = _items()
    mixed = SyntheticMixDataset(real, tiny_run, ratio=0.5, return_flag=True)
    assert len(mixed) == 12 + 6 and mixed.n_synthetic == 6
    assert mixed.real_counts == {"circle": 6, "square": 4, "triangle": 2}
    assert mixed.added == {"circle": 3, "square": 2, "triangle": 1}  # in proportion to the real counts
    assert mixed[0][0] is real[0][0] and mixed[0][2] is False
    x, y, flag = mixed[12]
    assert flag is True and y == 0 and isinstance(x, Image.Image) and x.mode == "RGB" and x.size == (12, 10)
    labels = [mixed[i][1] for i in range(12, 18)]
    assert labels == [0, 0, 0, 1, 1, 2] and all(type(v) is int for v in labels)
    assert mixed[-1][1] == 2
    with pytest.raises(IndexError):
        mixed[18]


def test_items_reproducible_from_seed_and_index(tiny_run):
    real = _items()
    a = SyntheticMixDataset(real, tiny_run, ratio=2.0, seed=5)
    order = list(range(len(a)))
    random.Random(0).shuffle(order)
    shuffled = {i: np.asarray(a[i][0]) for i in order}
    b = pickle.loads(pickle.dumps(SyntheticMixDataset(real, tiny_run, ratio=2.0, seed=5)))
    for i in range(len(b)):
        assert np.array_equal(np.asarray(b[i][0]), shuffled[i])
    other = SyntheticMixDataset(real, tiny_run, ratio=2.0, seed=6)
    assert not np.array_equal(np.asarray(other[20][0]), shuffled[20])


def test_per_class_transform_and_names(tiny_run):
    real = _items()
    mixed = SyntheticMixDataset(real, tiny_run, per_class={"triangle": 3, 1: 1}, transform=v2.PILToTensor())
    assert mixed.added == {"circle": 0, "square": 1, "triangle": 3} and len(mixed) == 16
    x, y = mixed[12]
    assert y == 1 and x.dtype == torch.uint8 and x.shape == (3, 10, 12)
    assert [mixed[i][1] for i in range(13, 16)] == [2, 2, 2]
    assert mixed[0][0].shape == (3, 10, 12)  # the transform applies to real items too


def test_image_folder_maps_class_names(tiny_run, image_folder_factory):
    root = image_folder_factory(class_counts={"square": 4, "triangle": 1}, size=(8, 8))
    folder = ImageFolder(root)  # classes ['square', 'triangle'] = generator classes 1 and 2
    balanced = ClassBalancedDataset(folder, tiny_run, return_flag=True)
    assert balanced.real_counts == {"circle": 0, "square": 4, "triangle": 1}
    assert balanced.added == {"circle": 0, "square": 0, "triangle": 3}
    labels = Counter(balanced[i][1] for i in range(len(balanced)))
    assert labels == {0: 4, 1: 4}  # ImageFolder's own indices
    x, _, flag = balanced[len(balanced) - 1]
    assert flag and isinstance(x, Image.Image) and x.mode == "RGB" and x.size == (8, 8)


def test_class_balanced_breastmnist(shared_data, tmp_path_factory):
    run = breast_run(shared_data, tmp_path_factory)
    real = breast_items(shared_data)
    balanced = ClassBalancedDataset(real, run, return_flag=True)
    assert balanced.real_counts == {"0": 147, "1": 399}
    assert balanced.added == {"0": 252, "1": 0}
    counts = Counter()
    for i in range(len(balanced)):
        x, y, flag = balanced[i]
        counts[y] += 1
        if flag:
            assert isinstance(x, Image.Image) and x.mode == "L" and x.size == (28, 28)
    assert counts == {0: 399, 1: 399}
    assert all(balanced[i][0] is real[i][0] for i in range(len(real)))  # no real sample dropped or changed
    assert ClassBalancedDataset(real, run, target=400).added == {"0": 253, "1": 1}
    assert ClassBalancedDataset(real, run, target={"0": 150}).added == {"0": 3, "1": 0}


def test_hugging_face_dataset_with_torch_format(tiny_run):
    datasets = pytest.importorskip("datasets")
    real = _items((3, 2, 1), size=(8, 8))
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["circle", "square", "triangle"])}
    )
    ds = datasets.Dataset.from_dict({"image": [x for x, _ in real], "label": [y for _, y in real]}, features=features)
    ds.set_format("torch")
    mixed = SyntheticMixDataset(ds, tiny_run, ratio=1.0, return_flag=True)
    assert mixed.added == {"circle": 3, "square": 2, "triangle": 1}
    real_item, synthetic_item = mixed[0], mixed[6]
    assert set(real_item) == set(synthetic_item) == {"image", "label", "is_synthetic"}
    x = synthetic_item["image"]
    assert x.dtype == torch.uint8 and x.shape == real_item["image"].shape and x.numel() == 8 * 8 * 3
    assert synthetic_item["label"].dtype == real_item["label"].dtype and synthetic_item["label"].item() == 0
    plain = SyntheticMixDataset(ds.with_format(None), tiny_run, ratio=1.0)
    assert isinstance(plain[6]["image"], Image.Image)


def test_dataloader_workers_reproduce_main_process_items(tiny_run):
    mixed = SyntheticMixDataset(_items(), tiny_run, ratio=1.0, seed=2, transform=v2.PILToTensor(), return_flag=True)
    loader = DataLoader(mixed, batch_size=6, num_workers=2, shuffle=True, generator=torch.Generator().manual_seed(0))
    seen = 0
    for images, labels, flags in loader:
        assert images.shape[1:] == (3, 10, 12) and images.dtype == torch.uint8
        assert len(labels) == len(flags) == len(images)
        seen += len(images)
    assert seen == len(mixed) == 24
    order = list(torch.randperm(24, generator=torch.Generator().manual_seed(0)))
    first_batch = next(iter(DataLoader(mixed, batch_size=6, num_workers=2, sampler=order)))
    for row, i in enumerate(order[:6]):
        assert torch.equal(first_batch[0][row], mixed[int(i)][0])


def test_transformed_dataset_feeds_labels_to_gan_augment(tiny_run):
    real = _items()
    pipeline = v2.Compose([GANAugment(tiny_run, p=1.0), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    wrapped = TransformedDataset(SyntheticMixDataset(real, tiny_run, ratio=0.5, return_flag=True), pipeline)
    x, y, flag = wrapped[0]
    assert isinstance(x, torch.Tensor) and x.shape == (3, 10, 12) and y == 0 and flag is False
    with pytest.raises(GanaugError, match="must be"):
        TransformedDataset([Image.new("L", (4, 4))], pipeline)[0]


def test_bad_input(tiny_run):
    images = [Image.new("RGB", (8, 8))] * 3
    with pytest.raises(GanaugError, match=r"must be \(x, y\) pairs"):
        SyntheticMixDataset(images, tiny_run)
    with pytest.raises(GanaugError, match="3-item tuple"):
        SyntheticMixDataset([(images[0], 0, 1)], tiny_run)
    with pytest.raises(GanaugError, match="dict with keys image, id"):
        SyntheticMixDataset([{"image": images[0], "id": 3}], tiny_run)
    with pytest.raises(GanaugError, match="empty"):
        SyntheticMixDataset([], tiny_run)
    real = _items()
    with pytest.raises(GanaugError, match="below its 6 real samples"):
        ClassBalancedDataset(real, tiny_run, target=4)
    with pytest.raises(GanaugError, match="below its 2 real samples"):
        ClassBalancedDataset(real, tiny_run, target={"triangle": 1})
    with pytest.raises(GanaugError, match="target must be"):
        ClassBalancedDataset(real, tiny_run, target="min")
    with pytest.raises(GanaugError, match="out of range"):
        SyntheticMixDataset([(images[0], 5)], tiny_run)
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        SyntheticMixDataset(real, tiny_run, per_class={"hexagon": 2})
    with pytest.raises(GanaugError, match="ratio"):
        SyntheticMixDataset(real, tiny_run, ratio=-1)
    with pytest.raises(GanaugError, match="per_class count"):
        SyntheticMixDataset(real, tiny_run, per_class={"circle": -2})
    with pytest.raises(GanaugError, match="Supported inputs"):
        SyntheticMixDataset([("text", 0)], tiny_run)
    with pytest.raises(GanaugError, match="not a ganaug model"):
        SyntheticMixDataset(real, ".")
