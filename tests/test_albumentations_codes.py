"""``ganaug.transforms.albumentations.GANAugment(codes=...)``: fixed InfoGAN codes, the sweep, serialisation and bad
values."""

from __future__ import annotations

import json
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch

import ganaug
from ganaug.errors import GanaugError
from ganaug.models.info import SWEEP_STEPS
from ganaug.transforms.albumentations import GANAugment

from .helpers import TINY, write_class_folder

IMAGE = np.zeros((8, 8), np.float32)  # float in [0, 1]
LEVEL = 1.5 / 255  # a uint8 model's samples come back on its 256 levels: within one of the generator's sample
FIXED = {"c0": 2, "u0": 0.5}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny 2-class dcgan fitted with codes c0 (3 values) and u0."""
    root = tmp_path_factory.mktemp("albu_codes")
    folder = write_class_folder(root / "data", {"a": 6, "b": 6})
    run = ganaug.fit(folder, **TINY, info_codes="cat:3,cont:1", sample_every=100, progress=False, steps=4,
                     out=root / "runs", name="coded")  # fmt: skip
    return run.path


def replay(transform: GANAugment, seed: int) -> A.ReplayCompose:
    pipeline = A.ReplayCompose([transform])
    pipeline.set_random_seed(seed)
    return pipeline


def replayed(pipeline: A.ReplayCompose, label: int) -> tuple[np.ndarray, int]:
    """The image the pipeline returns and the latent seed it recorded."""
    data = pipeline(image=IMAGE, label=label)
    return data["image"], data["replay"]["transforms"][0]["params"]["seed"]


def unit(x: torch.Tensor) -> np.ndarray:
    """A model-space sample (1 x 1 x H x W) as the float [0, 1] image the transform returns."""
    return ((x[0, 0] + 1) / 2).clamp(0, 1).numpy()


def test_fixed_codes_give_the_generator_sample_of_the_recorded_seed(model):
    g = ganaug.load_generator(model)
    pipeline = replay(GANAugment(str(model), p=1.0, codes=FIXED), 3)
    for label in (0, 1, 1):
        image, seed = replayed(pipeline, label)
        assert np.allclose(image, unit(g.sample(label, 1, seed=seed, codes=FIXED)), atol=LEVEL)
        assert not np.allclose(image, unit(g.sample(label, 1, seed=seed, codes={**FIXED, "c0": 0})), atol=LEVEL)
    first = [A.Compose([GANAugment(str(model), p=1.0, codes=FIXED)], seed=5)(image=IMAGE, label=1)["image"]]
    again = [A.Compose([GANAugment(str(model), p=1.0, codes=FIXED)], seed=5)(image=IMAGE, label=1)["image"]]
    assert np.array_equal(first[0], again[0])  # Compose(seed=...) reproduces it


def test_sweep_draws_the_traversal_values_of_continuous_codes(model):
    g = ganaug.load_generator(model)
    pipeline = replay(GANAugment(str(model), p=1.0, codes="sweep"), 0)
    steps = set(torch.linspace(-1, 1, SWEEP_STEPS).tolist())
    values, moved = [], False
    for _ in range(12):
        image, seed = replayed(pipeline, 0)
        z = g.noise(1, torch.Generator().manual_seed(seed), codes="sweep")
        values.append(float(z[0, -1]))  # u0, the last column
        assert np.allclose(image, unit(g.forward(z, torch.tensor([0]))), atol=LEVEL)
        drawn = g.noise(1, torch.Generator().manual_seed(seed))  # the same draw, u0 not on a step
        moved |= not np.allclose(image, unit(g.forward(drawn, torch.tensor([0]))), atol=LEVEL)
    assert all(min(abs(v - s) for s in steps) < 1e-6 for v in values) and len(set(values)) >= 4
    assert moved


def test_codes_round_trip_through_to_dict(model):
    for codes, recorded in ((FIXED, {"c0": 2.0, "u0": 0.5}), ("sweep", "sweep")):
        pipeline = A.Compose([GANAugment(str(model), p=1.0, codes=codes)], seed=11)
        serialized = json.loads(json.dumps(A.to_dict(pipeline)))
        assert serialized["transform"]["transforms"][0]["codes"] == recorded
        restored = A.from_dict(serialized)
        assert restored.transforms[0].codes == recorded and A.to_dict(restored) == A.to_dict(pipeline)
        restored.set_random_seed(11)
        pipeline.set_random_seed(11)
        assert np.array_equal(pipeline(image=IMAGE, label=1)["image"], restored(image=IMAGE, label=1)["image"])
    plain = A.to_dict(A.Compose([GANAugment(str(model), p=1.0)]))["transform"]["transforms"][0]
    assert plain.get("codes") is None


def test_bad_codes_are_named(model, tiny_gray_run):
    with pytest.raises(ValueError, match="codes=5 is not accepted; give None, 'sweep' or a dict"):
        GANAugment(str(model), codes=5)
    with pytest.raises(GanaugError, match=r"u0=2 is out of range; it takes a number from -1 to 1"):
        GANAugment(str(model), codes={"u0": 2})
    with pytest.raises(GanaugError, match="this model has no latent codes"):
        GANAugment(str(tiny_gray_run), codes="sweep")
