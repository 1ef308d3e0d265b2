"""The recipe: what evaluate trains on is what the dataset wrappers give; teacher, soft labels, regimes, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import ganaug
from ganaug.data.subset import subset_indices
from ganaug.downstream.classifier import SyntheticStream, train_classifier
from ganaug.downstream.recipe import FilteredItems, Recipe, mix_loss, synthetic_plan
from ganaug.downstream.teacher import Teacher
from ganaug.errors import GanaugError
from ganaug.evaluation.arms import recipe_stream
from ganaug.generation.sampling import Sampler
from ganaug.hub.sources import load_generator


@pytest.fixture
def recipe_run(tiny_gray_run, tmp_path):
    """A private copy of the tiny gray run (classes a, b), whose export gets a recipe written into it."""
    return shutil.copytree(tiny_gray_run, tmp_path / "run")


def _write_recipe(run, **fields):
    path = run / "export" / "config.json"
    config = json.loads(path.read_text())
    config["recipe"] = Recipe(**fields).to_dict()
    path.write_text(json.dumps(config))


def _real(counts):
    """A dataset of (model-space tensor, class index) items: a list, as any map-style dataset."""
    items = []
    for c, n in enumerate(counts):
        items += [(torch.full((1, 8, 8), 0.3 * c - 0.2), c) for _ in range(n)]
    return items


def test_fit_exports_a_teacher_beside_the_generator(tiny_gray_run):
    export = tiny_gray_run / "export"
    assert (export / "teacher.safetensors").is_file() and (export / "teacher.json").is_file()
    teacher = Teacher.load(export)
    assert teacher.num_classes == 2 and teacher.info["class_names"] == ["a", "b"]
    p = teacher.probabilities(torch.zeros(3, 1, 8, 8), temperature=2.0)
    assert p.shape == (3, 2) and torch.allclose(p.sum(1), torch.ones(3))
    assert "teacher" in json.loads((export / "config.json").read_text())


@pytest.mark.parametrize("fields", [{"filter": "teacher", "labels": "soft", "temperature": 2.0}, {"spread": 1.5}])
def test_wrapper_items_are_the_items_evaluate_trains_on(recipe_run, fields):
    recipe = Recipe(ratio=1.0, refresh=3, **fields)
    _write_recipe(recipe_run, **recipe.to_dict())
    g = load_generator(recipe_run)
    teacher = Teacher.load(recipe_run / "export")
    counts = [6, 2]
    plan = synthetic_plan(counts, recipe.ratio)
    stream = recipe_stream(Sampler(g, seed=3, spread=recipe.spread), teacher, recipe, plan)  # evaluate's side
    mixed = ganaug.SyntheticMixDataset(_real(counts), recipe_run, seed=3, return_flag=True)  # the user's side
    assert (
        mixed.recipe == recipe
        and mixed.added == {"a": plan[0], "b": plan[1]}
        and mixed.soft_labels == (recipe.labels == "soft")
    )
    for epoch in range(3):
        mixed.set_epoch(epoch, epochs=3)
        x_pool, t_pool = stream.pool(epoch)
        rows = [mixed.synthetic_model_item(c, k) for c in range(2) for k in range(plan[c])]
        assert torch.equal(torch.stack(rows), x_pool)
        labels = [mixed[len(mixed.dataset) + i][1] for i in range(sum(plan))]
        if recipe.labels == "soft":
            assert torch.allclose(torch.stack(labels), t_pool, atol=1e-6)
        else:
            assert labels == t_pool.argmax(1).tolist()
    mixed.set_epoch(0, epochs=3)
    first = mixed.synthetic_model_item(1, 0)
    mixed.set_epoch(1, epochs=3)
    assert not torch.equal(first, mixed.synthetic_model_item(1, 0))  # a fresh pool each epoch


def test_recipe_that_found_no_gain_adds_nothing_unless_asked(recipe_run):
    _write_recipe(recipe_run, add=False, ratio=1.0)
    mixed = ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run)
    assert mixed.n_synthetic == 0 and "not to add" in mixed.note
    assert ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run, ratio=0.5).n_synthetic == 4
    assert ganaug.ClassBalancedDataset(_real([6, 2]), recipe_run).n_synthetic == 0
    assert ganaug.ClassBalancedDataset(_real([6, 2]), recipe_run, target="max").added == {"a": 0, "b": 4}


def test_two_stage_recipe_ends_on_real_items(recipe_run):
    _write_recipe(recipe_run, ratio=1.0, finetune=0.25)
    mixed = ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run)
    mixed.set_epoch(2, epochs=4)
    assert mixed.n_synthetic == 8
    mixed.set_epoch(3, epochs=4)
    assert mixed.n_synthetic == 0 and len(mixed) == 8


def test_teacher_filter_keeps_only_accepted_items(recipe_run):
    g = load_generator(recipe_run)
    teacher = Teacher.load(recipe_run / "export")
    items = FilteredItems(Sampler(g, seed=0), teacher, Recipe(filter="teacher", threshold=0.0))
    filtered = 0
    for c in range(2):
        x = items.items(c, 0, 10)
        if c in items.unfiltered:  # the teacher accepts almost none of this class: left as drawn
            assert items.indices(c, 0, 10) == list(range(10))
            continue
        filtered += 1
        assert bool(teacher.accepts(x, c).all())
        assert items.indices(c, 5, 5) == items.indices(c, 0, 10)[5:]  # item k is the k-th accepted one
    assert filtered >= 1


def test_soft_labels_need_a_teacher_and_say_how_to_get_one(recipe_run):
    for name in ("teacher.json", "teacher.safetensors"):
        (recipe_run / "export" / name).unlink()
    with pytest.raises(GanaugError, match="needs the model's teacher.*has none.*Fit it again"):
        ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run, soft_labels=True)
    _write_recipe(recipe_run, filter="teacher")
    with pytest.raises(GanaugError, match="teacher filter needs the model's teacher"):
        ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run)
    assert ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run, recipe="none").n_synthetic == 4  # plain still works


def test_unknown_recipe_filter_is_refused_at_load(recipe_run):
    path = recipe_run / "export" / "config.json"
    config = json.loads(path.read_text())
    config["recipe"] = {"ratio": 1.0, "filter": "magic"}
    path.write_text(json.dumps(config))
    with pytest.raises(GanaugError, match="recipe that cannot be used.*filter 'magic' is unknown.*none, teacher"):
        load_generator(recipe_run)


def test_recipe_values_are_checked():
    with pytest.raises(GanaugError, match="ratio=0.*weight=-1"):
        Recipe(ratio=0, weight=-1)
    with pytest.raises(GanaugError, match="unknown recipe field.*'share'"):
        Recipe.from_dict({"share": 0.5})
    assert Recipe(ratio=1).share == 0.5 and "soft labels" in Recipe(labels="soft").name
    with pytest.raises(GanaugError, match="distill='yes'.*distill true or false"):
        Recipe.from_dict({"distill": "yes"})


def test_mix_loss_weights_synthetic_items_and_takes_soft_labels():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    hard = mix_loss(logits, torch.tensor([0, 0]))
    assert hard == pytest.approx(torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0])).item())
    soft = mix_loss(logits, torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    assert soft == pytest.approx(hard.item())
    weighted = mix_loss(logits, torch.tensor([0, 0]), torch.tensor([False, True]), weight=0.0)
    assert weighted == pytest.approx(torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0])).item())
    with pytest.raises(GanaugError, match="does not fit logits 2 x 2.*nn.NLLLoss"):
        mix_loss(logits, torch.ones(2, 3))


def test_classifier_trains_on_soft_targets_with_a_synthetic_stream():
    torch.manual_seed(0)
    x = torch.cat([torch.full((8, 1, 4, 4), -0.8), torch.full((8, 1, 4, 4), 0.8)])
    y = torch.tensor([0] * 8 + [1] * 8)
    pools = []

    def pool(i):
        pools.append(i)
        return x + 0.01 * (i + 1), torch.nn.functional.one_hot(y, 2).float()

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    stream = SyntheticStream(pool=pool, pools=3, share=0.5, finetune=0.25)
    net = train_classifier(net, x, y, steps=40, batch_size=8, synthetic=stream)
    assert pools == [0, 1, 2]  # three fresh pools over the mixed part of training
    assert (net(x).argmax(1) == y).all()


def test_regime_subsets_are_stratified_and_bad_fractions_named():
    y = torch.tensor([0] * 100 + [1] * 30 + [2] * 12)
    small = subset_indices(y, train_fraction=0.1)
    assert torch.bincount(y[small]).tolist() == [10, 3, 1]
    imbalanced = subset_indices(y, minority_fraction=0.1)
    assert torch.bincount(y[imbalanced]).tolist() == [100, 3, 1]
    assert list(subset_indices(y, train_fraction=0.1)) == list(small)  # the same subset in fit and evaluate
    with pytest.raises(GanaugError, match=r"class 'c' has 12 sample\(s\).*keeps none.*at least 25"):
        subset_indices(y, train_fraction=0.02, names=["a", "b", "c"])
    with pytest.raises(GanaugError, match="train_fraction=1.5 is not accepted"):
        subset_indices(y, train_fraction=1.5)


def test_fit_trains_on_the_regime_and_evaluate_uses_it(tmp_path, image_folder_factory):
    data = image_folder_factory("data", class_counts={"a": 20, "b": 10}, size=(8, 8), channels=1)
    run = ganaug.fit(data, arch="dcgan", ch=8, latent_dim=16, batch_size=8, steps=2, train_fraction=0.5,
                     out=tmp_path / "runs", name="half", progress=False, teacher_epochs=1)  # fmt: skip
    config = json.loads((run.path / "export" / "config.json").read_text())
    assert config["data"]["class_counts"] == [10, 5] and config["training"]["train_fraction"] == 0.5
    with pytest.raises(GanaugError, match="keeps none"):
        ganaug.fit(data, steps=1, train_fraction=0.01, out=tmp_path / "runs", dry_run=True)


def test_transforms_follow_the_recipe(recipe_run):
    from ganaug.downstream.recipe import StreamFilter
    from ganaug.transforms.albumentations import GANAugment as AlbuGANAugment

    plain = ganaug.GANAugment(recipe_run)
    assert plain.recipe is None and plain.p == 0.5  # no recipe yet: the old default
    _write_recipe(recipe_run, ratio=1.0, filter="teacher", threshold=0.0, spread=1.5)
    tf = ganaug.GANAugment(recipe_run, seed=0)
    assert tf.p == 0.5 and tf.recipe.filter == "teacher" and tf.sampler.spread == 1.5
    assert isinstance(tf.sampler.accept, StreamFilter)
    teacher = Teacher.load(recipe_run / "export")
    for c in range(2):
        x = tf.sampler.take(c, 20)
        if c not in tf.sampler.accept.unfiltered:
            assert bool(teacher.accepts(x, c).all())
    assert ganaug.GANAugment(recipe_run, p=0.2).p == 0.2  # an explicit p wins
    assert AlbuGANAugment(str(recipe_run)).p == 0.5
    _write_recipe(recipe_run, add=False)
    assert ganaug.GANAugment(recipe_run).p == 0.0 and AlbuGANAugment(str(recipe_run)).p == 0.0


def test_balance_writes_the_recipe_items_and_respects_a_no_gain_recipe(recipe_run, tmp_path, image_folder_factory):
    from PIL import Image

    from ganaug.generation.synthetic_files import SYNTHETIC_PREFIX

    from .helpers import run_cli

    data = image_folder_factory("bal", class_counts={"a": 5, "b": 2}, channels=1)
    _write_recipe(recipe_run, ratio=1.0, filter="teacher", threshold=0.0)
    proc = run_cli("balance", str(data), str(recipe_run), "--out", str(tmp_path / "out"), "--seed", "2", "--quiet")
    assert proc.returncode == 0, proc.stderr
    written = np.asarray(Image.open(tmp_path / "out" / "b" / f"{SYNTHETIC_PREFIX}_2_00000.png"))
    g = load_generator(recipe_run)
    items = FilteredItems(
        Sampler(g, seed=2), Teacher.load(recipe_run / "export"), Recipe(filter="teacher", threshold=0.0)
    )
    expected = g.to_data(items.items(1, 0, 1))[0][..., 0]
    assert np.array_equal(written, expected)  # synthetic file 0 of class b is the recipe's item 0
    _write_recipe(recipe_run, add=False)
    proc = run_cli("balance", str(data), str(recipe_run), "--out", str(tmp_path / "out2"), "--quiet")
    assert proc.returncode == 0 and "recipe says not to add" in proc.stderr
    assert not any(p.name.startswith(SYNTHETIC_PREFIX) for p in (tmp_path / "out2" / "b").iterdir())


def test_evaluate_gives_an_export_without_a_teacher_one(recipe_run, image_folder_factory, tmp_path):
    from ganaug.evaluation.evaluate import evaluate

    export = recipe_run / "export"
    for name in ("teacher.json", "teacher.safetensors"):
        (export / name).unlink()
    data = image_folder_factory("d", class_counts={"a": 10, "b": 5}, channels=1, seed=1)
    test = image_folder_factory("t", class_counts={"a": 4, "b": 4}, channels=1, seed=2)
    options = {"seeds": 1, "steps": 5, "quality": False, "progress": False, "warn": lambda _: None}
    evaluate(recipe_run, data, test, recipes=[Recipe(filter="teacher", labels="soft")], **options)
    assert Teacher.load(export) is not None and "teacher" in json.loads((export / "config.json").read_text())
    ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run)  # the written recipe can now be deployed


def test_distill_mixup_is_the_distillation_evaluate_trains_with(recipe_run):
    from ganaug.downstream.classifier import mix_pairs
    from ganaug.generation.datasets import DISTILL_NOTE

    _write_recipe(recipe_run, ratio=1.0, filter="teacher", labels="soft", temperature=2.0, distill=True)
    teacher = Teacher.load(recipe_run / "export")
    x_model = torch.rand(6, 1, 8, 8) * 2 - 1
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    flag = torch.tensor([False, False, False, False, True, True])
    x_user = (x_model + 1) / 2  # the batch as ToTensor gives it: floats in [0, 1]
    mix = ganaug.DistillMixUp(recipe_run, seed=5)
    out_x, out_y = mix(x_user, labels, flag)
    # evaluate's side: the real rows blended by the same draws, then the teacher's probabilities at T=2
    onehot = torch.nn.functional.one_hot(labels, 2).float()
    want_x, _ = mix_pairs(x_model[:4], onehot[:4], 1.0, torch.Generator().manual_seed(5))
    assert torch.allclose(out_x[:4] * 2 - 1, want_x, atol=1e-5)
    assert torch.allclose(out_y[:4], teacher.probabilities(want_x, 2.0), atol=1e-5)
    assert torch.equal(out_x[4:], x_user[4:]) and torch.equal(out_y[4:], onehot[4:])  # synthetic rows kept
    assert not torch.allclose(out_x[:4], x_user[:4])
    # uint8 batches stay uint8; normalised batches map back through mean/std
    as_uint8 = (x_user * 255).round().to(torch.uint8)
    assert ganaug.DistillMixUp(recipe_run, seed=5)(as_uint8, labels)[0].dtype == torch.uint8
    normalised = ganaug.DistillMixUp(recipe_run, seed=5, mean=0.5, std=0.5)(x_model, labels, flag)
    assert torch.allclose(normalised[1][:4], out_y[:4], atol=1e-4)
    assert ganaug.SyntheticMixDataset(_real([6, 2]), recipe_run).note == DISTILL_NOTE
    with pytest.warns(UserWarning, match="on top of distillation: pass each training batch"):
        ganaug.GANAugment(recipe_run)


def test_distill_mixup_bad_input(recipe_run):
    mix = ganaug.DistillMixUp(recipe_run)
    with pytest.raises(GanaugError, match="class indices in 0..1"):
        mix(torch.rand(2, 1, 8, 8), torch.tensor([0, 2]))
    with pytest.raises(GanaugError, match="N x C x H x W"):
        mix(torch.rand(1, 8, 8), torch.tensor([0]))
    with pytest.raises(GanaugError, match="alpha must be > 0"):
        ganaug.DistillMixUp(recipe_run, alpha=0)
    for name in ("teacher.json", "teacher.safetensors"):
        (recipe_run / "export" / name).unlink()
    with pytest.raises(GanaugError, match="distillation needs the model's teacher"):
        ganaug.DistillMixUp(recipe_run)


def test_evaluate_trains_a_recipe_on_top_of_distillation_and_the_card_says_how(recipe_run, image_folder_factory):
    from ganaug.evaluation.evaluate import evaluate

    data = image_folder_factory("d", class_counts={"a": 10, "b": 5}, channels=1, seed=1)
    test = image_folder_factory("t", class_counts={"a": 4, "b": 4}, channels=1, seed=2)
    options = {"seeds": 1, "steps": 5, "quality": False, "progress": False, "warn": lambda _: None}
    recipe = Recipe(filter="teacher", labels="soft", distill=True)
    result = evaluate(recipe_run, data, test, recipes=[recipe], **options)
    assert "distill" in result["arms"] and result["recipe"]["distill"] is True
    assert "on top of distillation" in result["recipe"]["name"]
    assert any("includes what distillation gives" in note for note in result["notes"])
    saved = json.loads((recipe_run / "export" / "config.json").read_text())["recipe"]
    assert saved["distill"] is True
    from ganaug.hub.card import render_card

    config = json.loads((recipe_run / "export" / "config.json").read_text())
    config["recipe"]["add"] = True  # what the card says of a recipe that found a gain
    assert "ganaug.DistillMixUp(MODEL)" in render_card(config, "run")
