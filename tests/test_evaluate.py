"""ganaug evaluate: statistics and verdicts, arms, bad input, and the command end to end on a tiny generator."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.evaluate import (
    _gate_fill,
    _scorer,
    _synthetic,
    carve_validation,
    duplicate_minority,
    evaluate,
    overlap_count,
    synthetic_plan,
)
from ganaug.uplift import interval, paired_uplift, scores, verdict

from .helpers import run_cli

FAST = {"seeds": 1, "epochs": 1, "ratios": (0.5,), "filters": ("none",), "quality": False, "progress": False}


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.01, 0.05, "helps"), (-0.02, 0.03, "no measurable effect"), (-0.05, -0.01, "hurts"), (None, None,
     "no measurable effect"), (0.0, 0.02, "no measurable effect")],
)  # fmt: skip
def test_verdict_is_honest_about_overlap(low, high, expected):
    assert verdict({"mean": 0.0, "low": low, "high": high}) == expected


def test_intervals_and_paired_uplift():
    iv = interval([0.80, 0.82, 0.84])
    assert iv["mean"] == pytest.approx(0.82) and iv["low"] < 0.80 and iv["high"] > 0.84 and iv["n"] == 3
    assert interval([0.5])["low"] is None and interval([])["mean"] is None
    # constant +0.03 per seed: the paired interval is tight even though the arms' own intervals overlap
    control = [0.70, 0.80, 0.75, 0.72]
    up = paired_uplift([c + 0.03 for c in control], control)
    assert up["mean"] == pytest.approx(0.03) and verdict(up) == "helps"
    assert verdict(paired_uplift(control, [c + 0.01 for c in control])) == "hurts"


def test_scores_binary_and_multiclass_with_a_missing_class():
    truth = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    s = scores(truth, proba)
    assert s["accuracy"] == 1 and s["balanced_accuracy"] == 1 and s["macro_f1"] == 1 and s["auc"] == 1
    three = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    s3 = scores(np.array([0, 1, 0]), three)  # class 2 absent from the truth
    assert s3["accuracy"] == pytest.approx(2 / 3) and 0 <= s3["auc"] <= 1


def test_plans_and_controls():
    plan = synthetic_plan([10, 4], 0.5)
    assert sum(plan) == 7 and abs((10 + plan[0]) - (4 + plan[1])) <= 1
    assert synthetic_plan([5, 0, 5], 1.0)[1] == 0  # a class absent from DATA gets nothing
    y = torch.tensor([0] * 8 + [1] * 3)
    assert torch.bincount(y[duplicate_minority(y, 0)]).tolist() == [8, 8]
    tr, va = carve_validation(torch.tensor([0] * 10 + [1] * 5), 0.2, ["a", "b"])
    assert len(va) == 3 and len(set(tr) & set(va)) == 0 and len(tr) + len(va) == 15
    with pytest.raises(GanaugError, match=r"class 'b' has 3 sample\(s\).*at least 5 per class"):
        carve_validation(torch.tensor([0] * 10 + [1] * 3), 0.2, ["a", "b"])
    x = torch.randn(6, 1, 4, 4)
    assert overlap_count(torch.cat([x[:2], torch.randn(3, 1, 4, 4)]), x) == 2


@pytest.fixture
def gray_sets(image_folder_factory):
    """DATA (a: 10, b: 5) and TEST (a: 4, b: 4) for the tiny gray generator (classes a, b)."""
    data = image_folder_factory("data", class_counts={"a": 10, "b": 5}, channels=1, seed=1)
    test = image_folder_factory("test", class_counts={"a": 4, "b": 4}, channels=1, seed=2)
    return data, test


@pytest.fixture
def gray_model(tiny_gray_run, tmp_path):
    """A private copy of the tiny gray run: evaluate writes into its export."""
    return shutil.copytree(tiny_gray_run, tmp_path / "run")


class _ValueSampler:
    """Class c's synthetic item i is a 1x2x2 image of value ``looks[c]`` (+ a tiny per-item offset)."""

    def __init__(self, looks):
        self.looks = looks

    def items(self, c, idx):
        idx = torch.as_tensor(list(idx), dtype=torch.float32)
        return (self.looks[c] + 1e-3 * idx).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()


class _ValueJudge:
    """Says class 0 for images darker than 0, class 1 otherwise."""

    def logits(self, x):
        v = x.mean(dim=(1, 2, 3))
        return torch.stack([-v, v], 1) * 10


def test_quality_gate_swaps_unrecognisable_classes_for_duplicates():
    # class 1's generator draws dark images the judge takes for class 0: it fails its gate
    sampler, judge = _ValueSampler({0: -0.5, 1: -0.4}), _ValueJudge()
    plan = [2, 6]
    score = _scorer("gate", judge, None)
    sx, sy, gate = _synthetic(sampler, plan, score, judge, bar=[0.9, 0.8])
    assert [g["passed"] for g in gate] == [True, False] and gate[1]["recognised"] == 0.0
    x_tr = torch.cat([torch.full((4, 1, 2, 2), -0.9), torch.full((3, 1, 2, 2), 0.7)])
    y_tr = torch.tensor([0] * 4 + [1] * 3)
    fx, fy = _gate_fill(sx, sy, x_tr, y_tr, plan, gate, seed=0)
    assert torch.bincount(fy).tolist() == [2, 6]
    assert torch.all(fx[fy == 1] == 0.7)  # duplicated real class-1 samples, no synthetic ones
    assert torch.all(fx[fy == 0] < -0.49)  # class 0 kept its synthetic samples
    # a class the judge recognises passes and keeps its synthetic samples; no bar means no gate
    _, _, gate = _synthetic(_ValueSampler({0: -0.5, 1: 0.5}), plan, score, judge, bar=[0.9, 0.8])
    assert all(g["passed"] for g in gate)
    assert _synthetic(sampler, plan, score)[2] == []
    # a filter keeps the best-scored half of twice as many: here the brightest class-1 items (offsets 6..11)
    x, _, _ = _synthetic(sampler, plan, lambda x, c: x.mean(dim=(1, 2, 3)))
    assert torch.allclose(x[2:, 0, 0, 0].sort().values, -0.4 + 1e-3 * torch.arange(6, 12).float())


def test_discriminator_filter_uses_the_runs_checkpoint(gray_model, gray_sets, tmp_path):
    from ganaug.critic import load_critic
    from ganaug.sources import load_generator

    g = load_generator(gray_model)
    critic = load_critic(gray_model, g.config["arch"], g.config["arch_args"])
    x = g.sample(0, n=5, seed=0)
    assert critic.scores(x, 0).shape == (5,) and critic.step > 0
    data, test = gray_sets
    options = {**FAST, "filters": ("discriminator",)}
    result = evaluate(gray_model, data, test, out=tmp_path / "ev", warn=lambda _: None, **options)
    assert result["chosen"]["filter"] == "discriminator"
    with pytest.raises(GanaugError, match="needs a run folder with a checkpoint.*only the generator"):
        evaluate(gray_model / "export", data, test, out=tmp_path / "ev2", **options)


def test_bad_input_unknown_test_class(gray_model, image_folder_factory, gray_sets):
    data, _ = gray_sets
    test = image_folder_factory("t3", class_counts={"a": 2, "zebra": 2}, channels=1)
    with pytest.raises(GanaugError, match="TEST has class.*'zebra'.*does not know.*a, b"):
        evaluate(gray_model, data, test, **FAST)


def test_bad_input_too_few_for_validation(gray_model, image_folder_factory, gray_sets):
    _, test = gray_sets
    small = image_folder_factory("small", class_counts={"a": 6, "b": 2}, channels=1)
    with pytest.raises(GanaugError, match=r"class 'b' has 2 sample\(s\).*needs at least 5"):
        evaluate(gray_model, small, test, **FAST)


def test_overlapping_test_set_warns_with_the_count(gray_model, gray_sets, tmp_path):
    data, test = gray_sets
    for name in ("a_000.png", "a_001.png"):
        shutil.copy(data / "a" / name, test / "a" / f"copy_{name}")
    warnings: list[str] = []
    result = evaluate(gray_model, data, test, out=tmp_path / "ev", warn=warnings.append, **FAST)
    assert any("TEST shares 2 sample(s) identical to DATA" in w for w in warnings)
    assert result["test"]["identical_to_train"] == 2 and result["notes"]
    assert any("not an export folder" in w for w in warnings)  # --out elsewhere: the card is left alone


def test_evaluate_command_end_to_end(gray_model, gray_sets):
    data, test = gray_sets
    proc = run_cli(
        "evaluate", str(gray_model), str(data), "--test", str(test), "--seeds", "2", "--epochs", "1",
        "--ratios", "0.5", "--filters", "none,confidence,gate", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for title in ("real only", "real + duplicated minority", "real + classical augmentation", "chosen on validation"):
        assert title in proc.stdout
    assert "**Verdict:" in proc.stdout and "[" in proc.stdout
    export = gray_model / "export"
    result = json.loads((export / "evaluation.json").read_text())
    assert result["seeds"] == 2 and result["verdict"] in ("helps", "no measurable effect", "hurts")
    assert set(result["uplift"]) == {"real", "duplicate", "classical"}
    assert result["chosen"]["ratio"] == 0.5 and result["chosen"]["filter"] in ("none", "confidence", "gate")
    gate = result["gate"]["0.5"]
    assert gate and all({"class", "recognised", "needed", "passed"} <= set(g) for g in gate)
    assert any(note.startswith("quality gate") for note in result["notes"])
    for arm in ("real", "duplicate", "classical", "ganaug"):
        assert len(result["arms"][arm]["test"]) == 2
        assert set(result["arms"][arm]["summary"]) == {"accuracy", "balanced_accuracy", "macro_f1", "auc"}
    assert result["quality"]["extractor"].startswith("ganaug-cnn-")
    config = json.loads((export / "config.json").read_text())
    entry = config["metrics"][f"downstream[{test.name}]"]
    assert entry["verdict"] == result["verdict"] and "mean" in entry["uplift_vs_duplicate_balanced_accuracy"]
    card = (export / "README.md").read_text()
    assert "uplift_vs_duplicate_balanced_accuracy" in card and "Measured with `ganaug evaluate`" in card
    assert (export / "evaluation.md").read_text().startswith("Downstream classifier")
    assert (export / "memorisation_pairs.png").is_file()


def test_small_images_train_on_one_cpu_thread_and_the_count_is_restored():
    from ganaug.classifier import cpu_threads_for

    before = torch.get_num_threads()
    with cpu_threads_for(torch.zeros(2, 1, 28, 28), torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
