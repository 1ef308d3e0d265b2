"""Using a CycleGAN: Translator, GANTranslate (torchvision, albumentations, DataLoader workers), the guard,
`ganaug translate`, inputs larger than the training size, and loading through the Hub."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

import ganaug
from ganaug.cli import main
from ganaug.errors import GanaugError

from .cyclegan_support import one_thread, tiny_cyclegan, write_domain  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
rng = np.random.default_rng(0)


@pytest.fixture
def cg(tmp_path_factory):
    """Run folder of the tiny gray(A, labelled) <-> RGB(B) CycleGAN trained at 16x16."""
    return tiny_cyclegan(tmp_path_factory)


def test_translator_any_size_and_bad_direction(cg):
    t = ganaug.load_translator(cg)
    assert t.stride == 4 and t.data_a.channels == 1 and t.data_b.channels == 3
    x = torch.rand(2, 1, 53, 37) * 2 - 1  # larger than the 16x16 training size, not a multiple of the stride
    y = t.translate(x, "a2b")
    assert y.shape == (2, 3, 53, 37) and y.abs().max() <= 1
    back = t.translate(y, "b2a")
    assert back.shape == x.shape
    padded = t.translate(torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect"), "a2b")[..., :53, :37]
    assert torch.allclose(padded, y, atol=1e-5)  # the padding the translator adds is what it crops away
    with pytest.raises(GanaugError, match="direction 'sideways' does not exist; choose a2b .* or b2a"):
        t.translate(x, "sideways")
    with pytest.raises(GanaugError, match="a2b takes N x 1 x H x W"):
        t.translate(torch.zeros(1, 3, 8, 8), "a2b")


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_pil_keeps_type_size_and_mode(cg, mode):
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    array = rng.integers(0, 256, (41, 23, channels), dtype=np.uint8)
    image = Image.fromarray(array[..., 0] if channels == 1 else array)
    for direction in ("a2b", "b2a"):
        out, label = ganaug.GANTranslate(cg, direction=direction, p=1.0)(image, "cat")
        assert isinstance(out, Image.Image) and out.mode == mode and out.size == image.size and label == "cat"
        assert not np.array_equal(np.asarray(out), np.asarray(image))


@pytest.mark.parametrize(
    ("image", "low", "high"),
    [
        (torch.randint(0, 256, (3, 20, 24), dtype=torch.uint8), 0, 255),
        (torch.randint(0, 256, (20, 24), dtype=torch.uint8), 0, 255),
        (torch.rand(1, 20, 24), 0.0, 1.0),
        (torch.rand(3, 20, 24) * 2 - 1, -1.0, 1.0),
        (tv_tensors.Image(torch.randint(0, 256, (1, 20, 24), dtype=torch.uint8)), 0, 255),
    ],
)
def test_tensor_keeps_type_shape_dtype_range(cg, image, low, high):
    out, label = ganaug.GANTranslate(cg, p=1.0)(image, torch.tensor(4))
    assert type(out) is type(image) and out.shape == image.shape and out.dtype == image.dtype
    assert out.min() >= low and out.max() <= high and int(label) == 4 and not torch.equal(out, image)


def test_batches_probability_and_label(cg):
    batch = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
    labels = torch.arange(6)
    out, same = ganaug.GANTranslate(cg, direction="b2a", p=1.0)(batch, labels)
    assert out.shape == batch.shape and torch.equal(same, labels)
    assert all(not torch.equal(out[i], batch[i]) for i in range(6))
    out, _ = ganaug.GANTranslate(cg, p=0.0)(batch, labels)
    assert torch.equal(out, batch)
    torch.manual_seed(0)
    out, _ = ganaug.GANTranslate(cg, direction="b2a", p=0.5)(batch, labels)
    changed = sum(not torch.equal(out[i], batch[i]) for i in range(6))
    assert 0 < changed < 6
    sample = {"image": tv_tensors.Image(batch[0]), "label": 3, "name": "x"}
    result = v2.Compose([ganaug.GANTranslate(cg, "b2a", p=1.0)])(sample)
    assert result["label"] == 3 and result["name"] == "x" and result["image"].shape == (3, 16, 16)


def test_guard_falls_back_and_counts(cg):
    image = Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8))
    flip = ganaug.GANTranslate(cg, p=1.0, guard=lambda img: int(np.asarray(img).mean() > 127))
    calls = []

    def always_differs(img):
        calls.append(img)
        return len(calls) % 2  # original -> 1, translation -> 0

    reject = ganaug.GANTranslate(cg, p=1.0, guard=always_differs)
    out, _ = reject(image, 0)
    assert out is image and reject.guard_stats == {"checked": 1, "rejected": 1} and reject.rejection_rate == 1.0
    keep = ganaug.GANTranslate(cg, p=1.0, guard=lambda img: torch.tensor([0.2, 0.8]))  # logits: always class 1
    out, _ = keep(image, 0)
    assert out is not image and keep.guard_stats == {"checked": 1, "rejected": 0}
    flip(image, 0)
    assert flip.guard_stats["checked"] == 1
    auto = ganaug.GANTranslate(cg, p=1.0, guard="auto")
    batch = torch.randint(0, 256, (5, 1, 16, 16), dtype=torch.uint8)
    auto(batch, torch.zeros(5))
    assert auto.guard_stats["checked"] == 5 and 0 <= auto.rejection_rate <= 1
    bad = ganaug.GANTranslate(cg, p=1.0, guard=lambda batch: [0])
    with pytest.raises(GanaugError, match="the guard returned 1 labels for 5 image"):
        bad(batch, torch.zeros(5))
    with pytest.raises(GanaugError, match="guard must be None, 'auto' or a callable"):
        ganaug.GANTranslate(cg, guard="strict")


def test_guard_judges_a_sample_of_several_images_as_one(cg):
    first = tv_tensors.Image(torch.randint(0, 256, (1, 16, 16), dtype=torch.uint8))
    second = tv_tensors.Image(torch.randint(0, 256, (1, 16, 16), dtype=torch.uint8))
    # the guard tells the second original from its translation, and cannot tell anything else apart
    tf = ganaug.GANTranslate(cg, p=1.0, guard=lambda img: int(img is second))
    out = tf({"image": first, "image2": second, "label": 0})
    assert out["image"] is first and out["image2"] is second  # one rejection keeps the whole sample original
    assert tf.guard_stats == {"checked": 2, "rejected": 1}
    agreeing = ganaug.GANTranslate(cg, p=1.0, guard=lambda img: 0)
    out = agreeing({"image": first, "image2": second, "label": 0})
    assert not torch.equal(out["image"], first) and not torch.equal(out["image2"], second)


def test_albumentations_guard_judges_a_sample_of_several_images_as_one(cg, monkeypatch):
    import albumentations as A

    from ganaug.transforms.albumentations import GANTranslate
    from ganaug.transforms.functional import describe
    from ganaug.translation.translator import to_unit, unit_to_model

    first = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    second = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    tf = GANTranslate(str(cg), p=1.0, guard="auto")
    translator = tf._translator.get()
    marked = unit_to_model(to_unit(second, describe(second)), translator.domains("a2b")[0])
    # the guard's classifier tells the second original from everything else, translations included
    monkeypatch.setattr(translator, "classify", lambda x: torch.tensor([int(x.shape == marked.shape and
                                                                            torch.equal(x, marked))]))  # fmt: skip
    pipeline = A.Compose([tf], additional_targets={"image2": "image"})
    out = pipeline(image=first, image2=second)
    assert np.array_equal(out["image"], first) and np.array_equal(out["image2"], second)  # both kept original
    assert tf.guard_stats == {"checked": 2, "rejected": 1}
    out = pipeline(image=first, image2=first)
    assert not np.array_equal(out["image"], first) and np.array_equal(out["image"], out["image2"])


def test_guard_auto_needs_a_labelled_domain(tmp_path):
    a, b = write_domain(tmp_path / "A", 4, 3), write_domain(tmp_path / "B", 4, 3, seed=1)
    run = ganaug.fit([a, b], task="cyclegan", ch=4, cyclegan_blocks=1, steps=1, out=tmp_path / "r", progress=False)
    with pytest.raises(GanaugError, match="guard='auto' needs the guard classifier .* has none"):
        ganaug.GANTranslate(run.path, guard="auto")


class _Images(Dataset):
    def __init__(self):
        self.items = [(Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)), i % 2) for i in range(8)]
        self.tf = v2.Compose([ganaug.GANTranslate(_Images.model, p=1.0), v2.PILToTensor()])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.tf(*self.items[i])


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_with_two_workers(cg, context):
    _Images.model = str(cg)
    ds = _Images()
    state = pickle.loads(pickle.dumps(ds.tf.transforms[0]))
    assert state.translator._translator is None  # pickled without networks: spawned workers load them themselves
    loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=context)
    images, labels = zip(*loader, strict=True)
    x = torch.cat(images)
    assert x.shape == (8, 1, 16, 16) and x.dtype == torch.uint8
    assert torch.cat(labels).tolist() == [0, 1] * 4
    assert not torch.equal(x[0, 0], torch.from_numpy(np.array(ds.items[0][0])))


def test_albumentations_translate(cg):
    A = pytest.importorskip("albumentations")
    from ganaug.transforms.albumentations import GANTranslate

    pipeline = A.Compose([GANTranslate(str(cg), direction="a2b", p=1.0)])
    image = rng.integers(0, 256, (21, 18), dtype=np.uint8)
    out = pipeline(image=image, label=1)
    assert out["image"].shape == image.shape and out["image"].dtype == np.uint8 and out["label"] == 1
    floats = rng.random((16, 16, 3), dtype=np.float32)
    back = A.Compose([GANTranslate(str(cg), direction="b2a", p=1.0, guard="auto")])(image=floats)["image"]
    assert back.shape == floats.shape and back.dtype == np.float32 and 0 <= back.min() and back.max() <= 1
    again = A.from_dict(A.to_dict(pipeline))
    assert again.transforms[0].direction == "a2b" and again.transforms[0].source == str(cg)
    with pytest.raises(ValueError, match="guard must be None or 'auto'"):  # the InitSchema's ValueError
        GANTranslate(str(cg), guard=print)


def test_cli_translate_keeps_names_and_subfolders(cg, tmp_path):
    src = tmp_path / "in"
    write_domain(src, 4, 1, classes=("cats", "dogs"))
    Image.fromarray(rng.integers(0, 256, (40, 33), dtype=np.uint8)).save(src / "large.jpg")
    (src / "readme.txt").write_text("not an image")
    result = CliRunner().invoke(main, ["translate", str(cg), str(src), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output + str(result.exception)
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "o")
    written = sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*") if p.is_file())
    assert written == ["cats/img_000.png", "cats/img_002.png", "dogs/img_001.png", "dogs/img_003.png", "large.jpg"]
    big = Image.open(tmp_path / "o" / "large.jpg")
    assert big.size == (33, 40) and big.mode == "RGB"  # larger than training, the target domain's channels
    one = CliRunner().invoke(
        main, ["translate", str(cg), str(tmp_path / "o" / "large.jpg"), "--out", str(tmp_path / "p"), "--direction",
               "b2a", "--guard", "--quiet"],
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert {p.name for p in (tmp_path / "p").iterdir()} <= {"large.jpg", "guard_rejected.txt"}
    again = CliRunner().invoke(main, ["translate", str(cg), str(src), "--out", str(tmp_path / "o")])
    assert again.exit_code == 1 and "not empty" in again.output


def test_cli_translate_bad_input(cg, tiny_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["translate", str(tiny_run), str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "not a CycleGAN" in result.output
    result = runner.invoke(
        main, ["translate", str(cg), str(tmp_path), "--out", str(tmp_path / "o"), "--direction", "x"]
    )
    assert result.exit_code == 2 and "'x' is not one of 'a2b', 'b2a'" in result.output
    result = runner.invoke(main, ["translate", str(cg), str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "does not exist" in result.output
    info = runner.invoke(main, ["info", str(cg)])
    assert info.exit_code == 0 and "domain B:     16x16, 3 channel(s), uint8, unlabelled" in info.output
    assert "guard:        classes bottom, top" in info.output and "cycle_l1_a" in info.output


def test_push_and_load_through_the_hub(cg, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from .hub_server import FakeHub, client_env, patch_client

    hub = FakeHub(tokens={"hf_alice": "alice"}).start()
    try:
        patch_client(monkeypatch, client_env(hub, str(tmp_path / "hf-home"), token="hf_alice"))
        ganaug.push_to_hub(cg, "alice/gray2rgb")
        assert {"config.json", "model.safetensors", "README.md", "samples.png"} <= set(hub.files("alice/gray2rgb"))
        remote = ganaug.load_translator("hf-hub:alice/gray2rgb")
        x = torch.rand(1, 1, 24, 20) * 2 - 1
        assert torch.equal(remote.translate(x, "a2b"), ganaug.load_translator(cg).translate(x, "a2b"))
        assert remote.guard is not None
        out, _ = ganaug.GANTranslate("hf-hub:alice/gray2rgb", p=1.0)(Image.new("L", (20, 20)), 0)
        assert out.size == (20, 20)
    finally:
        hub.stop()
