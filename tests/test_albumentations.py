"""ganaug.transforms.albumentations.GANAugment: numpy in, same out; label from the data dict; to_dict/from_dict;
workers."""

from __future__ import annotations

import json
import pickle

import albumentations as A
import numpy as np
import pytest
import torch
from albumentations.pytorch import ToTensorV2
from torch.utils.data import DataLoader, Dataset

import ganaug
from ganaug.errors import GanaugError
from ganaug.transforms.albumentations import GANAugment

from .pipeline_support import breast_items, breast_run

rng = np.random.default_rng(0)


@pytest.mark.parametrize("run_name", ["tiny_run", "tiny_gray_run"])
@pytest.mark.parametrize(
    "image, high",
    [
        (rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), 255),
        (rng.integers(0, 256, (12, 10), dtype=np.uint8), 255),
        (rng.integers(0, 256, (12, 10, 1), dtype=np.uint8), 255),
        (rng.integers(0, 256, (12, 10, 4), dtype=np.uint8), 255),
        (rng.random((12, 10, 3), dtype=np.float32), 1.0),
        (rng.random((12, 10), dtype=np.float32), 1.0),
        (rng.integers(0, 65536, (12, 10), dtype=np.uint16), 65535),
    ],
    ids=["rgb8", "gray8-2d", "gray8", "rgba8", "rgb-float", "gray-float-2d", "gray16"],
)
def test_numpy_in_same_out(request, run_name, image, high):
    pipeline = A.Compose([GANAugment(str(request.getfixturevalue(run_name)), p=1.0, sample_seed=0)])
    out = pipeline(image=image, label=1)
    x = out["image"]
    assert isinstance(x, np.ndarray) and x.shape == image.shape and x.dtype == image.dtype and out["label"] == 1
    assert x.min() >= 0 and x.max() <= high
    assert not np.array_equal(x, image)


def test_label_key_classes_and_mix(tiny_run):
    image = np.full((8, 8, 3), 255, np.uint8)
    t = A.Compose([GANAugment(str(tiny_run), p=1.0, label_key="y", classes=["square"], sample_seed=1)])
    assert np.array_equal(t(image=image, y=0)["image"], image)
    replaced = t(image=image, y="square")["image"]
    assert not np.array_equal(replaced, image)
    mixed = A.Compose([GANAugment(str(tiny_run), p=1.0, mode="mix", mix_weight=(0.5, 0.5), sample_seed=1)])
    blended = mixed(image=image, label=1)["image"]
    fresh = A.Compose([GANAugment(str(tiny_run), p=1.0, sample_seed=1)])(image=image, label=1)["image"]
    assert np.abs(blended.astype(float) - (fresh * 0.5 + 127.5).round()).max() <= 1


def test_to_dict_from_dict_round_trip(tiny_run):
    pipeline = A.Compose(
        [GANAugment(str(tiny_run), p=0.7, mode="mix", classes=["circle"], truncation=1.5), A.HorizontalFlip(p=0.5)]
    )
    serialized = json.loads(json.dumps(A.to_dict(pipeline)))
    entry = serialized["transform"]["transforms"][0]
    assert entry["__class_fullname__"] == "ganaug.transforms.albumentations.GANAugment"
    assert entry["source"] == str(tiny_run) and entry["p"] == 0.7 and entry["classes"] == ["circle"]
    restored = A.from_dict(serialized)
    clone = restored.transforms[0]
    assert isinstance(clone, GANAugment) and (clone.mode, clone.truncation, clone.p) == ("mix", 1.5, 0.7)
    assert A.to_dict(restored) == A.to_dict(pipeline)
    out = restored(image=np.zeros((8, 8, 3), np.uint8), label=0)["image"]
    assert out.shape == (8, 8, 3)


def test_pickle(tiny_run):
    t = GANAugment(str(tiny_run), p=1.0, sample_seed=3)
    clone = pickle.loads(pickle.dumps(t))
    assert clone._sampler._generator is None
    a = clone(image=np.zeros((8, 8, 3), np.uint8), label=2)["image"]
    b = GANAugment(str(tiny_run), p=1.0, sample_seed=3)(image=np.zeros((8, 8, 3), np.uint8), label=2)["image"]
    assert np.array_equal(a, b)


def test_bad_input(tiny_run):
    t = A.Compose([GANAugment(str(tiny_run), p=1.0)])
    with pytest.raises(GanaugError, match="label=..."):
        t(image=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(GanaugError, match="out of range"):
        t(image=np.zeros((8, 8, 3), np.uint8), label=9)
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        t(image=np.zeros((8, 8, 3), np.uint8), label="hexagon")
    with pytest.raises(GanaugError, match="Supported inputs"):
        t(image=np.zeros((8, 8, 3), np.int32), label=0)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):  # the InitSchema's ValueError
        GANAugment(str(tiny_run), p=1.2)
    with pytest.raises(GanaugError, match="serializable"):
        GANAugment(ganaug.load_generator(tiny_run))
    with pytest.raises(GanaugError, match="does not exist"):
        GANAugment("no/such/model")


class AlbumentationsDataset(Dataset):
    def __init__(self, items, pipeline):
        self.items, self.pipeline = items, pipeline

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        image, label = self.items[i]
        out = self.pipeline(image=np.asarray(image), label=label)
        return out["image"], out["label"]


def test_dataloader_workers_breastmnist(shared_data, tmp_path_factory):
    run = breast_run(shared_data, tmp_path_factory)
    pipeline = A.Compose([GANAugment(str(run), p=1.0), A.ToFloat(max_value=255), ToTensorV2()])
    loader = DataLoader(AlbumentationsDataset(breast_items(shared_data, "test")[:40], pipeline), 10, num_workers=2)
    for images, labels in loader:
        assert images.dtype == torch.float32 and images.shape[1:] == (1, 28, 28)
        assert images.min() >= 0 and images.max() <= 1 and labels.shape == (10,)
