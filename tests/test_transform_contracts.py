"""GANAugment / GANTranslate (torchvision v2) against the contracts of torchvision's own transform tests.

In the style of torchvision's ``check_transform`` and sample smoke tests, parametrised over input types and sample
structures: pickling, output types, seeding through ``make_params`` (torch's RNG), one synthetic image per sample,
annotations refused unless passed through, ``p=0`` a no-op, and errors as ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from torch.utils._pytree import tree_flatten
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ganaug import GANAugment, GANTranslate
from ganaug.errors import GanaugError, GanaugTypeError, GanaugValueError
from ganaug.generation.datasets import TransformedDataset

from .cyclegan_support import tiny_cyclegan

H, W = 10, 12


def _u8(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def make_input(kind: str, seed: int = 0):
    """An image of ``kind``: pil-rgb, pil-l, tensor-u8, tensor-float, tv-u8, tv-float, batch-u8 (4 rows)."""
    x = _u8(3, H, W, seed=seed)
    return {
        "pil-rgb": lambda: TF.to_pil_image(x),
        "pil-l": lambda: TF.to_pil_image(x[:1]),
        "tensor-u8": lambda: x,
        "tensor-float": lambda: x.float() / 255,
        "tv-u8": lambda: tv_tensors.Image(x),
        "tv-float": lambda: tv_tensors.Image(x.float() / 255),
        "batch-u8": lambda: _u8(4, 3, H, W, seed=seed),
    }[kind]()


KINDS = ["pil-rgb", "pil-l", "tensor-u8", "tensor-float", "tv-u8", "tv-float", "batch-u8"]


def as_array(image) -> np.ndarray:
    return np.asarray(image) if isinstance(image, PIL.Image.Image) else image.as_subclass(torch.Tensor).numpy()


def label_for(image):
    return torch.tensor([0, 1, 2, 1]) if isinstance(image, torch.Tensor) and image.ndim == 4 else 1


def same(a, b) -> bool:
    return type(a) is type(b) and np.array_equal(as_array(a), as_array(b))


@pytest.mark.parametrize("kind", KINDS)
def test_check_transform(tiny_run, kind):
    """check_transform: pickles, keeps the type, size and dtype of the input, and passes the label through."""
    t = GANAugment(tiny_run, p=1.0)
    pickle.loads(pickle.dumps(t))
    image, label = make_input(kind), label_for(make_input(kind))
    out, out_label = t(image, label)
    assert type(out) is type(image) and out_label is label
    assert as_array(out).shape == as_array(image).shape and as_array(out).dtype == as_array(image).dtype
    assert not np.array_equal(as_array(out), as_array(image))


@pytest.mark.parametrize("kind", KINDS)
def test_torch_seed_reproduces_the_output(tiny_run, kind):
    """make_params draws from torch's RNG: the same torch seed gives the same output (also p's draw), another not."""
    t = GANAugment(tiny_run, p=0.5)
    image = make_input(kind)

    def run(seed: int):
        torch.manual_seed(seed)
        return [t(image, label_for(image))[0] for _ in range(4)]

    first, again, other = run(0), run(0), run(1)
    assert all(same(a, b) for a, b in zip(first, again, strict=True))
    assert not all(same(a, b) for a, b in zip(first, other, strict=True))


def test_instances_with_one_torch_seed_agree_and_unseeded_ones_do_not_share_a_stream(tiny_run):
    image = make_input("tensor-u8")
    a, b = GANAugment(tiny_run, p=1.0), GANAugment(tiny_run, p=1.0)
    torch.manual_seed(3)
    from_a = a(image, 1)[0]
    torch.manual_seed(3)
    assert torch.equal(b(image, 1)[0], from_a)  # the drawn parameters alone fix the image
    torch.manual_seed(3)
    assert not torch.equal(a(image, 1)[0], b(image, 1)[0])  # two instances, one process: two streams


def test_seed_argument_is_a_private_stream(tiny_run):
    image = make_input("tensor-u8")
    torch.manual_seed(0)
    first = GANAugment(tiny_run, p=1.0, seed=7)(image, 1)[0]
    torch.manual_seed(1)
    assert torch.equal(GANAugment(tiny_run, p=1.0, seed=7)(image, 1)[0], first)


def test_uint8_and_float_inputs_give_the_same_image_under_one_seed(tiny_run):
    t = GANAugment(tiny_run, p=1.0)
    torch.manual_seed(0)
    as_u8 = t(make_input("tensor-u8"), 2)[0]
    torch.manual_seed(0)
    as_float = t(make_input("tensor-float"), 2)[0]
    assert (as_float * 255 - as_u8.float()).abs().max() <= 0.5 + 1e-4


STRUCTURES = {
    "dict": lambda a, b: {"image": a, "image2": b, "label": 1},
    "tuple": lambda a, b: (a, b, 1),
    "nested": lambda a, b: {"images": [a, {"view": b}], "labels": 1},
}


@pytest.mark.parametrize("structure", list(STRUCTURES))
@pytest.mark.parametrize("kinds", [("tv-u8", "tv-u8"), ("pil-rgb", "tv-u8"), ("tv-float", "pil-rgb")])
def test_one_synthetic_image_for_all_images_of_a_sample(tiny_run, structure, kinds):
    labels_getter = (lambda sample: 1) if structure == "tuple" else "default"
    t = GANAugment(tiny_run, p=1.0, labels_getter=labels_getter)
    sample = STRUCTURES[structure](make_input(kinds[0], seed=1), make_input(kinds[1], seed=2))
    images = [x for x in tree_flatten(t(sample))[0] if isinstance(x, (PIL.Image.Image, torch.Tensor))]
    assert len(images) == 2
    u8 = [TF.to_dtype(TF.to_image(x), torch.uint8, scale=True).as_subclass(torch.Tensor) for x in images]
    assert (u8[0].int() - u8[1].int()).abs().max() <= 1  # the same image (up to rounding of float inputs)


def test_images_of_a_sample_must_agree_on_rows(tiny_run):
    with pytest.raises(GanaugValueError, match="must all be single images or all batches"):
        batch = tv_tensors.Image(make_input("batch-u8"))
        GANAugment(tiny_run, p=1.0)({"a": batch, "b": make_input("tv-u8"), "labels": [0] * 4})


ANNOTATIONS = {
    "mask": lambda: tv_tensors.Mask(torch.zeros(H, W, dtype=torch.uint8)),
    "boxes": lambda: tv_tensors.BoundingBoxes([[1, 1, 5, 5]], format="XYXY", canvas_size=(H, W)),
    "keypoints": lambda: tv_tensors.KeyPoints([[2.0, 3.0]], canvas_size=(H, W)),
    "video": lambda: tv_tensors.Video(_u8(2, 3, H, W)),
}


@pytest.mark.parametrize("transform", ["augment", "translate"])
@pytest.mark.parametrize("annotation", list(ANNOTATIONS))
def test_annotations_are_refused_unless_passed_through(tiny_run, cyclegan, transform, annotation):
    def make(**kw):
        if transform == "augment":
            return GANAugment(tiny_run, **kw)
        return GANTranslate(cyclegan, direction="b2a", **kw)

    image = make_input("tv-u8")
    sample = {"image": image, "extra": ANNOTATIONS[annotation](), "label": 1}
    with pytest.raises(ValueError, match="annotations='pass'") as info:
        make(p=1.0)(sample)
    assert isinstance(info.value, GanaugError)
    out = make(p=1.0, annotations="pass")(sample)
    assert out["extra"] is sample["extra"] and not torch.equal(out["image"], image)
    assert make(p=0.0)(sample)["image"] is image  # p = 0: nothing to refuse


def _smoke_sample(image) -> dict:
    """A sample of many parts, as torchvision's sample smoke test builds (annotations included)."""
    return {
        "image_or_video": image,
        "image_tv_tensor": tv_tensors.Image(_u8(3, H, W, seed=5)),
        "image_pil": TF.to_pil_image(_u8(3, H, W, seed=6)),
        "bounding_boxes": tv_tensors.BoundingBoxes([[0, 0, 4, 4]], format="XYXY", canvas_size=(H, W)),
        "segmentation_mask": tv_tensors.Mask(torch.zeros(H, W, dtype=torch.uint8)),
        "int": 0,
        "float": 0.0,
        "bool": True,
        "none": None,
        "str": "str",
        "path": Path.cwd(),
        "object": object(),
        "tensor": torch.empty(5),
        "array": np.empty(5),
    }


@pytest.mark.parametrize("container", [dict, list, tuple])
@pytest.mark.parametrize("kind", ["pil-rgb", "tensor-u8", "tv-float"])
def test_sample_structure_smoke(tiny_run, container, kind):
    """Any structure passes through: same tree, images of the same type, every other leaf the very same object."""
    t = GANAugment(tiny_run, p=1.0, labels_getter=lambda sample: 2, annotations="pass")
    sample = _smoke_sample(make_input(kind))
    inputs = sample if container is dict else container(sample.values())
    flat_in, spec_in = tree_flatten(inputs)
    torch.manual_seed(0)
    flat_out, spec_out = tree_flatten(t(inputs))
    assert spec_out == spec_in
    transformed = t._needs_transform_list(flat_in)
    for out, inp, changed in zip(flat_out, flat_in, transformed, strict=True):
        assert type(out) is type(inp) if changed else out is inp
    assert sum(transformed) == (2 if kind == "tensor-u8" else 3)  # a pure tensor beside images passes through


@pytest.mark.parametrize(
    "sample",
    [
        lambda: make_input("pil-rgb"),  # no label at all
        lambda: {"image": make_input("tv-u8"), "mask": tv_tensors.Mask(torch.zeros(H, W))},
        lambda: (make_input("tensor-u8"), "not a class"),
        lambda: {"image": torch.zeros(7, 5, 5), "label": 0},  # a tensor no generator output can match
    ],
    ids=["no-label", "mask", "unknown-class", "odd-tensor"],
)
def test_p_zero_is_a_no_op_whatever_the_inputs(tiny_run, sample):
    s = sample()
    flat_in, _ = tree_flatten(s)
    flat_out, _ = tree_flatten(GANAugment(tiny_run, p=0.0)(s))
    assert all(a is b for a, b in zip(flat_out, flat_in, strict=True))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda t: t(make_input("pil-rgb")), GanaugValueError),  # no label
        (lambda t: t(make_input("pil-rgb"), 7), GanaugValueError),  # class out of range
        (lambda t: t(make_input("pil-rgb"), "hexagon"), GanaugValueError),
        (lambda t: t(make_input("pil-rgb"), torch.ones(3)), GanaugValueError),  # a soft label
        (lambda t: t(torch.zeros(3, 4, 4, dtype=torch.int32), 0), GanaugTypeError),
        (lambda t: t(make_input("pil-rgb").convert("P"), 0), GanaugTypeError),
        (lambda t: t(torch.zeros(7, 5, 5), 0), GanaugValueError),
    ],
    ids=["no-label", "out-of-range", "unknown-name", "soft-label", "int32", "pil-palette", "shape"],
)
def test_errors_are_value_and_type_errors(tiny_run, call, error):
    with pytest.raises(error):
        call(GANAugment(tiny_run, p=1.0))


@pytest.mark.parametrize(
    "kwargs",
    [{"p": 1.5}, {"mode": "swap"}, {"mix_weight": (0.8, 0.2)}, {"classes": ["hexagon"]}, {"annotations": "keep"}],
)
def test_bad_options_are_value_errors(tiny_run, kwargs):
    with pytest.raises(ValueError):
        GANAugment(tiny_run, **kwargs)


@pytest.mark.parametrize(
    "sample",
    [
        lambda im: (im, 1),
        lambda im: (im, {"labels": 1, "boxes": None}),
        lambda im: {"image": im, "labels": torch.tensor(1)},
        lambda im: {"img": im, "class_label": np.int64(1)},
        lambda im: {"image": im, "label": "square"},
    ],
    ids=["tuple", "tuple-dict", "labels-key", "label-like-key", "class-name"],
)
def test_labels_heuristic(tiny_run, sample):
    """Labels are found where v2's default labels_getter finds them; the same seed gives the same class's image."""
    image = make_input("tv-u8")
    torch.manual_seed(0)
    expected = GANAugment(tiny_run, p=1.0)(image, 1)[0]
    torch.manual_seed(0)
    out = [x for x in tree_flatten(GANAugment(tiny_run, p=1.0)(sample(image)))[0] if isinstance(x, tv_tensors.Image)]
    assert torch.equal(out[0], expected)


def test_classification_preset(tiny_run):
    """In a classification training preset (crop, flip, to float, normalise) it keeps the preset's output contract."""
    preset = v2.Compose(
        [
            GANAugment(tiny_run, p=0.5),
            v2.RandomResizedCrop(8, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=[0.5] * 3, std=[0.25] * 3),
        ]
    )
    torch.manual_seed(0)
    outs = [preset(make_input("pil-rgb", seed=i), i % 3) for i in range(6)]
    torch.manual_seed(0)
    again = [preset(make_input("pil-rgb", seed=i), i % 3) for i in range(6)]
    for (x, y), (x2, _) in zip(outs, again, strict=True):
        assert x.shape == (3, 8, 8) and x.dtype == torch.float32 and isinstance(y, int)
        assert torch.equal(x, x2)


def test_dataloader_workers_reproduce_and_differ(tiny_run):
    """The DataLoader's per-worker seeds drive it: a seeded loader gives the same batches twice; workers differ."""
    items = [(make_input("tensor-u8", seed=0), i % 3) for i in range(8)]
    data = TransformedDataset(items, GANAugment(tiny_run, p=1.0))

    def epoch():
        loader = DataLoader(data, batch_size=4, num_workers=2, generator=torch.Generator().manual_seed(0))
        return torch.cat([images for images, _ in loader])

    first = epoch()
    assert torch.equal(first, epoch())
    assert not torch.equal(first[0], first[4]) or not torch.equal(first[1], first[5])  # worker 0 vs worker 1


def test_batch_rows_are_their_recorded_seeds(tiny_run):
    """A collated batch is generated from per-row seeds: each row is the image its (class, seed) gives alone."""
    t = GANAugment(tiny_run, p=1.0, seed=0)
    images, labels = make_input("batch-u8"), torch.tensor([0, 1, 2, 1])
    params = t.make_params([images], labels)
    out = t.transform(images, params)
    for row, (c, s) in enumerate(zip(params["classes"], params["seeds"], strict=True)):
        alone = GANAugment(tiny_run, p=1.0).sampler.seeded([c], [s])
        single = TF.to_dtype(TF.resize(alone[0] * 0.5 + 0.5, [H, W], antialias=True), torch.float32)
        assert (out[row].float() / 255 - single).abs().max() < 0.02


def test_reuse_pool_serves_recorded_seeds(tiny_run):
    """reuse=R: each class's pool of seeds is served R times; every image is still the one of its recorded seed."""
    t = GANAugment(tiny_run, p=1.0, batch_size=4, reuse=2)
    image = make_input("tensor-u8")
    seeds = []
    for _ in range(8):
        seeds += t.make_params([image], 1)["seeds"]
    assert len(set(seeds)) == 4 and sorted(seeds[:4]) == sorted(seeds[4:])


@pytest.fixture
def cyclegan(tmp_path_factory):
    return tiny_cyclegan(tmp_path_factory)


@pytest.mark.parametrize("kind", ["pil-rgb", "tensor-u8", "tv-float", "batch-u8"])
def test_translate_check_transform_and_seeding(cyclegan, kind):
    t = GANTranslate(cyclegan, direction="b2a", p=0.5)
    pickle.loads(pickle.dumps(t))
    image = make_input(kind)

    def run(seed: int):
        torch.manual_seed(seed)
        return [t(image, 1)[0] for _ in range(4)]

    first = run(0)
    assert all(type(x) is type(image) and as_array(x).shape == as_array(image).shape for x in first)
    assert all(same(a, b) for a, b in zip(first, run(0), strict=True))


def test_translate_all_images_of_a_sample_or_none(cyclegan):
    t = GANTranslate(cyclegan, direction="b2a", p=0.5)
    a, b = make_input("tv-u8", seed=1), make_input("tv-u8", seed=2)
    outcomes = set()
    for _ in range(16):
        out = t({"image": a, "image2": b})
        outcomes.add((not torch.equal(out["image"], a), not torch.equal(out["image2"], b)))
    assert outcomes <= {(True, True), (False, False)} and len(outcomes) == 2


class _OrderTeacher:
    """Accepts samples whose first value exceeds their second: a stand-in for the recipe's teacher filter."""

    def accepts(self, x: torch.Tensor, c: int, threshold: float = 0.0) -> torch.Tensor:
        return x.flatten(1)[:, 0] > x.flatten(1)[:, 1]


def test_recorded_seeds_under_a_teacher_filter_do_not_depend_on_the_batch(tiny_run):
    """Under a recipe's filter a pair's image is its first accepted candidate: the same alone or in any batch."""
    from types import SimpleNamespace

    sampler = GANAugment(tiny_run, p=1.0).sampler
    sampler.accept = SimpleNamespace(teacher=_OrderTeacher(), threshold=0.0)
    seeds = list(range(100, 112))
    together = sampler.seeded([1] * len(seeds), seeds)
    sampler._seeded.clear()
    alone = torch.cat([sampler.seeded([1], [s]) for s in seeds[::-1]]).flip(0)
    assert torch.allclose(together, alone, atol=1e-2)
    sampler.accept = None
    sampler._seeded.clear()
    raw = _OrderTeacher().accepts(sampler.seeded([1] * len(seeds), seeds), 1).float().mean()
    assert raw < 1.0 and _OrderTeacher().accepts(together, 1).float().mean() > raw  # rejected ones were replaced


def test_one_instance_serves_several_threads_each_with_its_own_labels(tiny_run):
    """Labels travel with the call, not through state on the instance: threads sharing it never mix them up."""
    import threading

    t = GANAugment(tiny_run, p=1.0)
    real_seeded, seen, errors = t.sampler.seeded, threading.local(), []

    def seeded(labels, seeds):
        if list(labels) != [seen.label]:
            errors.append((seen.label, list(labels)))
        return real_seeded(labels, seeds)

    t.sampler.seeded = seeded
    image = make_input("tensor-u8")

    def work(label: int) -> None:
        seen.label = label
        try:
            for _ in range(30):
                t((image, label))
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is the finding
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(c % 3,)) for c in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_private_seed_gives_new_samples_each_epoch_of_fresh_workers_and_the_same_run_twice(tiny_run):
    """seed=: each epoch's new workers carry the DataLoader's new worker seeds, so epochs differ; a seeded loader
    gives the same epochs again."""
    items = [(make_input("tensor-u8", seed=0), i % 3) for i in range(4)]
    data = TransformedDataset(items, GANAugment(tiny_run, p=1.0, seed=7))

    def two_epochs():
        loader = DataLoader(data, batch_size=4, num_workers=1, generator=torch.Generator().manual_seed(0))
        return [torch.cat([images for images, _ in loader]) for _ in range(2)]

    first, second = two_epochs()
    assert not torch.equal(first, second)  # fresh workers, fresh samples
    again = two_epochs()
    assert torch.equal(first, again[0]) and torch.equal(second, again[1])


@pytest.mark.parametrize("shape", [(1, 0, 0), (3, 5, 0)])
def test_an_image_without_pixels_is_a_value_error(tiny_run, shape):
    t = GANAugment(tiny_run, p=1.0)
    with pytest.raises(ValueError, match=r"got an image of \d+x0 pixels: there is nothing to replace"):
        t((torch.zeros(shape, dtype=torch.uint8), 1))
