"""ganaug fit --holdout: samples left out of the GAN's training, and ganaug evaluate validating on exactly them."""

from __future__ import annotations

import json

import pytest

import ganaug
from ganaug.config import FitConfig
from ganaug.data import read_data
from ganaug.downstream.recipe import Recipe
from ganaug.errors import GanaugError
from ganaug.evaluation.decision import why_not_added
from ganaug.evaluation.evaluate import evaluate, overlap_count, prepare
from ganaug.training.cgan_task import _apply_regime

from .helpers import TINY

EVAL = {"seeds": 3, "epochs": 1, "steps": 10, "recipes": [Recipe(ratio=0.5)], "quality": False, "progress": False}


@pytest.fixture
def sets(image_folder_factory):
    data = image_folder_factory("data", class_counts={"a": 10, "b": 5}, channels=1, seed=1)
    test = image_folder_factory("test", class_counts={"a": 4, "b": 4}, channels=1, seed=2)
    return data, test


def test_evaluate_validates_on_exactly_the_samples_the_fit_held_out(sets, tmp_path):
    data, test = sets
    run = ganaug.fit(data, steps=2, holdout=0.2, out=tmp_path / "runs", name="held", progress=False, **TINY)
    config = json.loads((run.path / "export" / "config.json").read_text())
    assert config["training"]["holdout"] == 0.2 and config["data"]["class_counts"] == [8, 4]
    notes = json.loads((run.path / "fit_config.json").read_text())["notes"]
    assert any("--holdout 0.2: 3 samples (per class [2, 1])" in n for n in notes)
    trained = read_data(data)  # what the generator trained on, cut the way the fit cuts it
    _apply_regime(trained, FitConfig(holdout=0.2))
    p = prepare(run.path, data, test, recipes=EVAL["recipes"], seeds=1, steps=10)
    assert len(p.y_val) == 3 and overlap_count(p.x_val, trained.images) == 0  # never seen by the generator
    assert overlap_count(p.x_tr, trained.images) == len(p.x_tr) == len(trained.images)
    assert not p.val_seen and any("the 3 samples the fit held out" in n for n in p.notes)


def test_validation_carved_from_the_generators_own_samples_adds_nothing(sets, tmp_path):
    data, test = sets
    run = ganaug.fit(data, steps=2, out=tmp_path / "runs", name="all", progress=False, **TINY)
    warnings: list[str] = []
    result = evaluate(run.path, data, test, out=tmp_path / "ev", warn=warnings.append, **EVAL)
    assert any("carved from the samples the generator was trained on" in w for w in warnings)
    assert result["recipe"]["add"] is False
    assert "carved from the generator's own training samples" in result["recipe"]["reason"]
    assert "--holdout 0.2" in result["recipe"]["reason"]
    measurable = {"mean": 0.05, "low": 0.02, "high": 0.08}  # a gain that would be added on unseen validation
    assert why_not_added(measurable, 5, seen=True).startswith("validation was carved from the generator's own")
    assert why_not_added({"mean": -0.01, "low": -0.03, "high": 0.01}, 5, seen=True).startswith("no gain on validation")
    other = tmp_path / "other"  # the same evaluation with a validation set the generator never saw says nothing of it
    warnings.clear()
    result = evaluate(run.path, data, test, val=test, out=other, warn=warnings.append, **EVAL)
    assert not any("carved from the samples" in w for w in warnings)
    assert "carved from the generator's own" not in result["recipe"]["reason"]


@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_bad_holdout_values(sets, tmp_path, value):
    with pytest.raises(GanaugError, match=rf"holdout={value!r} is not accepted; give a fraction in \[0, 1\)"):
        ganaug.fit(sets[0], steps=1, holdout=value, out=tmp_path / "runs", progress=False, **TINY)
    assert not (tmp_path / "runs").exists()


def test_a_class_too_small_to_hold_out_from_names_the_option(image_folder_factory, tmp_path):
    data = image_folder_factory("small", class_counts={"a": 6, "b": 2}, channels=1)
    with pytest.raises(GanaugError, match=r"class 'b' has 2 sample\(s\).*raise --holdout, or give 0"):
        ganaug.fit(data, steps=1, holdout=0.2, out=tmp_path / "runs", progress=False, **TINY)
    assert not (tmp_path / "runs").exists()
