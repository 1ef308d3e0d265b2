"""ganaug.transforms.albumentations transforms against the contracts of albumentations 2.0's own tests.

Serialization, ReplayCompose replay, ``Compose(seed=...)`` / ``set_random_seed``, strict mode, additional targets
and ``images``, uint8 vs float32 under one seed, masks/boxes/keypoints refused unless passed through, ``p=0`` a
no-op and ``ValueError`` / ``TypeError`` errors, parametrised over image types and sample structures.
"""

from __future__ import annotations

import json
import pickle

import albumentations as A
import numpy as np
import pytest

from ganaug.errors import GanaugError, GanaugTypeError, GanaugValueError
from ganaug.transforms.albumentations import GANAugment, GANTranslate

from .cyclegan_support import tiny_cyclegan

IMAGES = {
    "rgb8": lambda: np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8),
    "gray8-2d": lambda: np.random.default_rng(0).integers(0, 256, (10, 12), dtype=np.uint8),
    "rgb-float": lambda: np.random.default_rng(0).random((10, 12, 3), dtype=np.float32),
    "gray16": lambda: np.random.default_rng(0).integers(0, 65536, (10, 12, 1), dtype=np.uint16),
}


def augment(run, **kw) -> GANAugment:
    return GANAugment(str(run), **{"p": 1.0, **kw})


@pytest.mark.parametrize("kind", list(IMAGES))
def test_serialization_round_trip_gives_the_same_output(tiny_run, kind):
    pipeline = A.Compose([augment(tiny_run, p=0.7, mode="mix"), A.HorizontalFlip(p=0.5)], seed=137)
    restored = A.from_dict(json.loads(json.dumps(A.to_dict(pipeline))))
    assert A.to_dict(restored) == A.to_dict(pipeline)
    image = IMAGES[kind]()
    restored.set_random_seed(137)
    pipeline.set_random_seed(137)
    for _ in range(3):
        assert np.array_equal(pipeline(image=image, label=1)["image"], restored(image=image, label=1)["image"])
    pickle.loads(pickle.dumps(pipeline))


@pytest.mark.parametrize("kind", list(IMAGES))
def test_replay_reproduces_the_image(tiny_run, kind):
    pipeline = A.ReplayCompose([augment(tiny_run, p=0.5), A.HorizontalFlip(p=0.5)])
    image = IMAGES[kind]()
    for _ in range(4):
        data = pipeline(image=image, label=2)
        again = A.ReplayCompose.replay(data["replay"], image=image, label=2)
        assert np.array_equal(again["image"], data["image"])
        applied = data["replay"]["transforms"][0]
        if applied["applied"]:
            assert set(applied["params"]) >= {"synthetic_class", "seed"}


def test_compose_seed_and_set_random_seed_reproduce(tiny_run):
    image = IMAGES["rgb8"]()

    def outputs(pipeline):
        return [pipeline(image=image, label=i % 3)["image"] for i in range(4)]

    first = outputs(A.Compose([augment(tiny_run, p=0.5)], seed=137))
    second = A.Compose([augment(tiny_run, p=0.5)], seed=137)
    assert all(np.array_equal(a, b) for a, b in zip(first, outputs(second), strict=True))
    second.set_random_seed(137)
    assert all(np.array_equal(a, b) for a, b in zip(first, outputs(second), strict=True))
    other = outputs(A.Compose([augment(tiny_run, p=0.5)], seed=138))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_unseeded_instances_do_not_share_a_stream(tiny_run):
    image = IMAGES["rgb8"]()
    a, b = A.Compose([augment(tiny_run)]), A.Compose([augment(tiny_run)])
    assert not np.array_equal(a(image=image, label=1)["image"], b(image=image, label=1)["image"])


def test_uint8_and_float32_give_the_same_result_under_one_seed(tiny_run):
    image = IMAGES["rgb8"]()
    as_u8 = A.Compose([augment(tiny_run)], seed=0)(image=image, label=1)["image"]
    as_float = A.Compose([augment(tiny_run)], seed=0)(image=image.astype(np.float32) / 255, label=1)["image"]
    assert np.abs(as_float * 255 - as_u8).max() <= 0.5 + 1e-4


@pytest.mark.parametrize("make", [lambda run: augment(run), lambda run: augment(run, strict=True)])
def test_strict_compose_accepts_the_label(tiny_run, make):
    pipeline = A.Compose([make(tiny_run), A.HorizontalFlip()], strict=True)
    out = pipeline(image=IMAGES["rgb8"](), label=1)
    assert out["label"] == 1 and out["image"].shape == (10, 12, 3)
    custom = A.Compose([augment(tiny_run, label_key="y")], strict=True)
    assert custom(image=IMAGES["rgb8"](), y=0)["y"] == 0
    with pytest.raises(ValueError, match="not in available keys"):
        pipeline(image=IMAGES["rgb8"](), label=1, something_else=3)


def test_strict_rejects_unknown_arguments(tiny_run):
    with pytest.raises(ValueError, match="not valid for transform GANAugment"):
        augment(tiny_run, strict=True, colour="blue")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"p": 1.5}, r"p must be a probability"),
        ({"mode": "swap"}, "mode must be one of"),
        ({"mix_weight": (0.8, 0.2)}, "mix_weight"),
        ({"batch_size": 0}, "batch_size"),
        ({"truncation": -1.0}, "truncation"),
        ({"annotations": "keep"}, "annotations must be one of"),
    ],
)
def test_init_schema_raises_value_errors(tiny_run, kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment(tiny_run, **kwargs)


@pytest.mark.parametrize(
    "data, error",
    [
        ({}, GanaugValueError),  # no label
        ({"label": 9}, GanaugValueError),
        ({"label": "hexagon"}, GanaugValueError),
        ({"label": np.ones(3)}, GanaugValueError),  # a soft label
        ({"image": np.zeros((8, 8, 3), np.int32), "label": 0}, GanaugTypeError),
    ],
    ids=["no-label", "out-of-range", "unknown-name", "soft-label", "int32"],
)
def test_bad_inputs_are_value_and_type_errors(tiny_run, data, error):
    with pytest.raises(error):
        A.Compose([augment(tiny_run)])(**{"image": IMAGES["rgb8"](), **data})


@pytest.mark.parametrize("kind", list(IMAGES))
@pytest.mark.parametrize("structure", ["additional_targets", "images"])
def test_one_synthetic_image_for_all_image_targets(tiny_run, kind, structure):
    first = IMAGES[kind]()
    second = (first.astype(np.float64) * 0.5).astype(first.dtype)  # another image, same shape and type
    if structure == "images":
        out = A.Compose([augment(tiny_run)])(images=[first, second], label=1)["images"]
    else:
        pipeline = A.Compose([augment(tiny_run)], additional_targets={"image2": "image"})
        got = pipeline(image=first, image2=second, label=1)
        out = [got["image"], got["image2"]]
    assert np.array_equal(out[0], out[1]) and not np.array_equal(out[0], first)


ANNOTATED = {
    "mask": lambda: {"mask": np.zeros((10, 12), np.uint8)},
    "masks": lambda: {"masks": [np.zeros((10, 12), np.uint8)]},
    "bboxes": lambda: {"bboxes": [[1, 1, 5, 5]], "bbox_labels": [0]},
    "keypoints": lambda: {"keypoints": [[2, 3]]},
    "extra-mask": lambda: {"mask2": np.zeros((10, 12), np.uint8)},
}


def _compose(transform, data: dict) -> A.Compose:
    """A Compose set up for the annotations in ``data``."""
    return A.Compose(
        [transform],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["bbox_labels"]) if "bboxes" in data else None,
        keypoint_params=A.KeypointParams(format="xy") if "keypoints" in data else None,
        additional_targets={"mask2": "mask"},
    )


@pytest.mark.filterwarnings("ignore:Got processor for:UserWarning")  # an image-only transform beside bbox params
@pytest.mark.parametrize("transform", ["augment", "translate"])
@pytest.mark.parametrize("annotation", list(ANNOTATED))
def test_annotations_are_refused_unless_passed_through(tiny_run, cyclegan, transform, annotation):
    def make(**kw):
        if transform == "augment":
            return augment(tiny_run, **kw)
        return GANTranslate(str(cyclegan), direction="b2a", **{"p": 1.0, **kw})

    image, extra = IMAGES["rgb8"](), ANNOTATED[annotation]()
    with pytest.raises(ValueError, match="annotations='pass'") as info:
        _compose(make(), extra)(image=image, label=1, **extra)
    assert isinstance(info.value, GanaugError)
    out = _compose(make(annotations="pass"), extra)(image=image, label=1, **extra)
    assert not np.array_equal(out["image"], image)
    assert np.array_equal(_compose(make(p=0.0), extra)(image=image, **extra)["image"], image)  # p = 0: no refusal


@pytest.mark.filterwarnings("ignore:Got processor for:UserWarning")
def test_empty_annotations_are_not_refused(tiny_run):
    empty = {"bboxes": [], "bbox_labels": [], "keypoints": []}
    out = _compose(augment(tiny_run), empty)(image=IMAGES["rgb8"](), label=1, **empty)
    assert out["image"].shape == (10, 12, 3)


@pytest.mark.parametrize(
    "data",
    [
        {},  # no label
        {"label": "hexagon"},
        {"mask": np.zeros((10, 12), np.uint8)},
        {"image": np.zeros((10, 12, 7), np.uint8)},  # channels no generator output can match
    ],
    ids=["no-label", "unknown-class", "mask", "seven-channels"],
)
def test_p_zero_is_a_no_op_whatever_the_inputs(tiny_run, data):
    data = {"image": IMAGES["rgb8"](), **data}
    out = A.Compose([augment(tiny_run, p=0.0)])(**data)
    assert all(out[k] is v for k, v in data.items())


def test_sample_seed_is_a_private_stream_per_instance(tiny_run):
    image = IMAGES["rgb8"]()
    a = A.Compose([augment(tiny_run, sample_seed=5)], seed=1)(image=image, label=1)["image"]
    b = A.Compose([augment(tiny_run, sample_seed=5)], seed=2)(image=image, label=1)["image"]
    assert np.array_equal(a, b)


@pytest.fixture
def cyclegan(tmp_path_factory):
    return tiny_cyclegan(tmp_path_factory)


def test_translate_strict_schema_replay_and_all_images_or_none(cyclegan):
    t = GANTranslate(str(cyclegan), direction="b2a", p=0.5, strict=True)
    with pytest.raises(ValueError, match="direction 'up' does not exist"):
        GANTranslate(str(cyclegan), direction="up")
    with pytest.raises(ValueError, match="not valid for transform GANTranslate"):
        GANTranslate(str(cyclegan), strict=True, colour="blue")
    image = IMAGES["rgb8"]()
    replay = A.ReplayCompose([GANTranslate(str(cyclegan), direction="b2a", p=0.5)])
    pipeline = A.Compose([t], strict=True, seed=3)
    outcomes = set()
    for _ in range(12):
        data = replay(image=image)
        assert np.array_equal(A.ReplayCompose.replay(data["replay"], image=image)["image"], data["image"])
        out = pipeline(images=[image, image[::-1].copy()])["images"]
        outcomes.add((not np.array_equal(out[0], image), not np.array_equal(out[1], image[::-1])))
    assert outcomes <= {(True, True), (False, False)} and len(outcomes) == 2


@pytest.mark.parametrize("key", ["volume", "volumes", "scan"])
def test_volumes_are_refused_by_augment_and_translated_slice_by_slice(tiny_run, cyclegan, key):
    volume = np.random.default_rng(0).integers(0, 256, (3, 10, 12, 3), dtype=np.uint8)
    value = volume[None] if key == "volumes" else volume
    declared = {"scan": "volume"} if key == "scan" else {}
    with pytest.raises(ValueError, match=rf"cannot replace the 3D volume in \['{key}'\]"):
        A.Compose([augment(tiny_run)], additional_targets=declared)(image=IMAGES["rgb8"](), label=1, **{key: value})
    image = IMAGES["rgb8"]()
    out = A.Compose([augment(tiny_run, p=0.0)], additional_targets=declared)(image=image, **{key: value})
    assert out[key] is value  # p = 0: no refusal
    translated = A.Compose([GANTranslate(str(cyclegan), direction="b2a", p=1.0)], additional_targets=declared)(
        image=image, **{key: value}
    )[key]
    assert translated.shape == value.shape and not np.array_equal(translated, value)
