"""ganaug evaluate: statistics and verdicts, arms, bad input, and the command end to end on a tiny generator."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
import torch

from ganaug.downstream.recipe import Recipe
from ganaug.downstream.uplift import bootstrap_uplift, interval, paired_uplift, scores, verdict
from ganaug.errors import GanaugError
from ganaug.evaluation.evaluate import (
    adds_samples,
    carve_validation,
    duplicate_minority,
    evaluate,
    overlap_count,
    synthetic_plan,
)

from .helpers import run_cli

FAST = {"seeds": 1, "epochs": 1, "steps": 10, "recipes": [Recipe(ratio=0.5)], "quality": False, "progress": False}


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
    gain = [0.03, 0.025, 0.035, 0.03]
    up = paired_uplift([c + g for c, g in zip(control, gain, strict=True)], control)
    assert up["mean"] == pytest.approx(0.03) and verdict(up) == "helps"
    assert verdict(paired_uplift(control, [c + g / 3 for c, g in zip(control, gain, strict=True)])) == "hurts"


def test_intervals_stay_in_range_and_few_or_identical_seeds_get_no_verdict():
    iv = interval([0.99, 1.0, 0.97])
    assert iv["high"] == 1.0 and iv["low"] >= 0
    assert interval([-0.9, 0.9, 0.0], bounds=(-1.0, 1.0))["low"] == -1.0
    two = paired_uplift([0.80, 0.85], [0.70, 0.74])  # two seeds, both clearly positive
    assert two["n"] == 2 and verdict(two) == "not enough seeds"
    same = paired_uplift([0.8, 0.7, 0.75], [0.785, 0.685, 0.735])  # the identical difference every seed
    assert verdict(same) == "not enough seeds"


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
        "evaluate", str(gray_model), str(data), "--test", str(test), "--seeds", "2", "--steps", "12",
        "--recipe", "ratio=0.5", "--recipe", "ratio=0.5,filter=teacher,labels=soft,temperature=2", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for title in ("real only", "real + duplicated minority", "real + classical augmentation", "distillation",
                  "chosen on validation", "classical + ganaug over classical", "Recommended recipe"):  # fmt: skip
        assert title in proc.stdout
    assert "**Verdict:" in proc.stdout and "[" in proc.stdout
    export = gray_model / "export"
    result = json.loads((export / "evaluation.json").read_text())
    assert result["seeds"] == 2 and result["steps"] == 12 and result["verdict"] == "not enough seeds"
    assert set(result["uplift"]) == {"real", "duplicate", "classical", "distill"}
    assert result["chosen"]["recipe"]["ratio"] == 0.5 and result["teacher"] is not None
    val = {name: arm["val_summary"]["balanced_accuracy"]["mean"] for name, arm in result["arms"].items()}
    candidates = [name for name in val if name.startswith("ganaug#")]
    best = max(candidates, key=val.get)  # candidates are ranked on top of classical augmentation
    assert result["arms"]["classical+ganaug"]["val"] == result["arms"][best]["val"]
    assert "real + classical augmentation + ganaug" in result["arms"][best]["title"]
    on_top = val["classical+ganaug"] >= val["ganaug-alone"]  # then validation chooses with or without classical
    assert result["recipe"]["with_classical"] is on_top and result["chosen"]["arm"] == (
        "classical+ganaug" if on_top else "ganaug-alone"
    )
    assert result["arms"]["ganaug"]["val"] == result["arms"][result["chosen"]["arm"]]["val"]
    for arm in ("real", "duplicate", "classical", "distill", "ganaug", "classical+ganaug", "ganaug-alone"):
        assert len(result["arms"][arm]["test"]) == 2
        assert set(result["arms"][arm]["summary"]) == {"accuracy", "balanced_accuracy", "macro_f1", "auc"}
    boot = result["uplift"]["duplicate"]["bootstrap"]
    assert boot["low"] <= boot["mean"] <= boot["high"] and boot["n"] == 2000
    assert result["quality"]["extractor"].startswith("ganaug-cnn-")
    assert 0 <= result["quality"]["extractor_balanced_accuracy"] <= 1
    assert "The extractor tells the held-out classes apart at" in proc.stdout
    config = json.loads((export / "config.json").read_text())
    assert config["recipe"]["add"] == result["recipe"]["add"] and config["recipe"]["ratio"] == 0.5
    assert result["recipe"]["add"] is False and "2 seed(s) cannot show a gain" in result["recipe"]["reason"]
    Recipe.from_dict(config["recipe"])  # the written recipe loads back
    entry = config["metrics"][f"downstream[{test.name}]"]
    assert entry["verdict"] == result["verdict"] and "mean" in entry["uplift_vs_duplicate_balanced_accuracy"]
    card = (export / "README.md").read_text()
    assert "uplift_vs_duplicate_balanced_accuracy" in card and "Measured with `ganaug evaluate`" in card
    assert "## Recipe" in card and "teacher.safetensors" in card and result["recipe"]["reason"] in card
    assert (export / "evaluation.md").read_text().startswith("Downstream classifier")
    assert (export / "memorisation_pairs.png").is_file()


def test_the_recipe_adds_samples_only_for_a_measurable_gain_on_validation():
    clear = paired_uplift([0.40, 0.42, 0.41, 0.43, 0.44], [0.35, 0.36, 0.37, 0.36, 0.38])
    noisy = paired_uplift([0.40, 0.30, 0.45, 0.33, 0.44], [0.35, 0.36, 0.37, 0.36, 0.38])  # mean > 0, interval spans 0
    assert clear["low"] > 0 and adds_samples(clear, seeds=5)
    assert noisy["mean"] > 0 > noisy["low"] and not adds_samples(noisy, seeds=5)
    two = paired_uplift([0.50, 0.52], [0.30, 0.31])
    assert not adds_samples(two, seeds=2)  # too few seeds for an interval that means anything


def test_seeds_in_worker_processes_give_the_same_results(gray_model, gray_sets, tmp_path):
    data, test = gray_sets
    opts = {**FAST, "seeds": 3, "recipes": [Recipe(ratio=0.5), Recipe(ratio=0.5, spread=1.5)], "device": "cpu"}
    one = evaluate(gray_model, data, test, jobs=1, out=tmp_path / "one", warn=lambda m: None, **opts)
    two = evaluate(gray_model, data, test, jobs=2, out=tmp_path / "two", warn=lambda m: None, **opts)
    for name, arm in one["arms"].items():
        assert two["arms"][name]["test"] == arm["test"] and two["arms"][name]["val"] == arm["val"], name
    assert len(one["arms"]["classical+ganaug"]["test"]) == 3 and one["verdict"] == two["verdict"]
    with pytest.raises(GanaugError, match="jobs must be >= 0"):
        evaluate(gray_model, data, test, jobs=-1, out=tmp_path / "bad", **FAST)


def _lose_the_machine_in_seed_1(monkeypatch):
    """Every classifier training records its seed; the first of seed 1 raises, as Ctrl-C or a lost machine would.
    Returns the real training function and the list of seeds."""
    from ganaug.evaluation import arms as arms_module

    train, calls = arms_module.Arms.run, []

    def lost_in_seed_1(self, job, seed, evaluate=()):
        calls.append(seed)
        if seed == 1:
            raise KeyboardInterrupt
        return train(self, job, seed, evaluate)

    monkeypatch.setattr(arms_module.Arms, "run", lost_in_seed_1)
    return train, calls


def test_an_interrupted_evaluation_trains_only_the_seeds_it_had_not_finished(gray_model, gray_sets, tmp_path,
                                                                             monkeypatch):  # fmt: skip
    from ganaug.evaluation import arms as arms_module
    from ganaug.evaluation.partial import PARTIAL_DIR

    data, test = gray_sets
    opts = {**FAST, "seeds": 2, "device": "cpu", "jobs": 1}
    whole = evaluate(gray_model, data, test, out=tmp_path / "whole", warn=lambda m: None, **opts)
    assert not (tmp_path / "whole" / PARTIAL_DIR).exists()  # removed once the result is written
    train, calls = _lose_the_machine_in_seed_1(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        evaluate(gray_model, data, test, out=tmp_path / "cut", warn=lambda m: None, **opts)
    saved = sorted(f.name for f in (tmp_path / "cut" / PARTIAL_DIR).rglob("*") if f.is_file())
    assert saved == ["arms-seed0000.json", "arms-seed0000.safetensors"]
    per_seed = calls.count(0)  # every arm of seed 0, trained and saved
    monkeypatch.setattr(arms_module.Arms, "run", lambda self, job, seed, evaluate=(): calls.append(seed) or train(
        self, job, seed, evaluate))  # fmt: skip
    calls.clear()
    notes: list[str] = []
    again = evaluate(gray_model, data, test, out=tmp_path / "cut", warn=notes.append, **opts)
    assert calls.count(0) == 1 and calls.count(1) == per_seed + 1  # seed 0's arms were read, not trained again
    assert any("1 of 2 seed(s) were trained by an interrupted run" in n for n in notes)
    for name, arm in whole["arms"].items():
        assert again["arms"][name]["test"] == arm["test"] and again["arms"][name]["val"] == arm["val"], name
    assert again["verdict"] == whole["verdict"] and not (tmp_path / "cut" / PARTIAL_DIR).exists()


def test_kept_seeds_of_other_inputs_are_not_reused(gray_model, gray_sets, tmp_path, monkeypatch):
    from ganaug.evaluation import arms as arms_module
    from ganaug.evaluation.partial import PARTIAL_DIR

    data, test = gray_sets
    train, _ = _lose_the_machine_in_seed_1(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        evaluate(gray_model, data, test, out=tmp_path, warn=lambda m: None, **{**FAST, "seeds": 2, "jobs": 1})
    (old,) = (tmp_path / PARTIAL_DIR).iterdir()
    monkeypatch.setattr(arms_module.Arms, "run", train)
    with pytest.raises(GanaugError):  # another evaluation starts in the same folder and fails before training
        evaluate(gray_model, data, test, out=tmp_path, seeds=0)
    assert old.is_dir()  # an evaluation that never started leaves the kept seeds alone
    notes: list[str] = []
    evaluate(gray_model, data, test, out=tmp_path, warn=notes.append, **{**FAST, "seeds": 2, "steps": 11, "jobs": 1})
    assert not any("interrupted run" in n for n in notes)  # 11 steps, not 10: nothing kept applies
    assert not (tmp_path / PARTIAL_DIR).exists()


def wait_for(path, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_advances_per_training_not_per_seed(tmp_path, jobs):
    """A worker's finished training moves the parent's progress bar while the worker's seed is still running."""
    from ganaug.downstream.workers import map_seeds, work_done

    flag, steps = tmp_path / "seen", []

    def advance(n: int) -> None:
        steps.append(n)
        flag.touch()  # the parent saw the first training of a seed

    def task(seed: int) -> bool:
        work_done(1)
        seen = wait_for(flag, 30)  # only progress that arrives before the seed ends can set it
        work_done(2)
        return seen

    out = map_seeds(task, range(2), jobs, advance=advance)
    assert out == {0: True, 1: True} and sum(steps) == 6


def _map_in_thread(task, seeds: int, jobs: int, wait_s: float = 60) -> dict:
    """map_seeds run in a thread, so that a hang fails the test instead of stopping the suite: what it returned or
    raised."""
    import threading

    from ganaug.downstream.workers import map_seeds

    result: dict = {}

    def run() -> None:
        try:
            result["out"] = map_seeds(task, range(seeds), jobs)
        except BaseException as exc:  # noqa: BLE001 - the test looks at whatever it raised
            result["raised"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait_s)
    return result


def _dies_on_seed_one(seed: int) -> int:
    import os

    if seed == 1:
        os._exit(3)  # a worker killed from outside (for memory, say) ends the same way
    return seed


def _fails_on_seed_one(seed: int) -> int:
    if seed == 1:
        raise ValueError("seed 1 failed")
    time.sleep(300)  # the other workers' seeds would run this long
    return seed


def test_a_worker_that_dies_ends_the_seeds_with_a_clear_error_instead_of_a_hang():
    result = _map_in_thread(_dies_on_seed_one, 3, 2)
    assert isinstance(result.get("raised"), GanaugError), result
    assert "worker process ended abruptly" in str(result["raised"]) and "fewer jobs" in str(result["raised"])


def test_a_seed_that_fails_stops_the_other_workers_at_once():
    result = _map_in_thread(_fails_on_seed_one, 4, 2, wait_s=60)  # not 300 s: the running seed is stopped
    assert isinstance(result.get("raised"), ValueError) and str(result["raised"]) == "seed 1 failed", result


def test_the_verdict_says_when_the_samples_alone_teach_nothing_and_when_the_extractor_is_weak():
    from ganaug.evaluation.evaluate import cas_caveat
    from ganaug.evaluation.io import quality_markdown

    at_chance = {"cas": {"balanced_accuracy": 0.52}}
    assert "regularising effect" in cas_caveat(at_chance, 2, "helps")
    assert "do not carry their classes" in cas_caveat(at_chance, 2, "no measurable effect")
    assert cas_caveat({"cas": {"balanced_accuracy": 0.52}}, 10, "helps") is None  # far above 1/10
    assert cas_caveat({}, 2, "helps") is None
    both = cas_caveat({"cas": {"balanced_accuracy": 0.54}, "extractor_balanced_accuracy": 0.50}, 2, "helps")
    assert "CAS cannot tell" in both and "regularising effect" not in both  # real-trained at chance too
    assert "regularising effect" in cas_caveat({**at_chance, "extractor_balanced_accuracy": 0.8}, 2, "helps")
    q = {"extractor": "ganaug-cnn-x", "fid": 1.0, "extractor_balanced_accuracy": 0.55}
    assert "weak evidence here" in quality_markdown(q)
    assert "weak evidence" not in quality_markdown({**q, "extractor_balanced_accuracy": 0.9})


def test_paired_bootstrap_over_test_samples():
    truth = np.array([0] * 20 + [1] * 20)
    right = np.eye(2)[truth]
    half = right.copy()
    half[20:30] = [1.0, 0.0]  # a quarter of the samples wrong
    up = bootstrap_uplift(truth, [right, right], [half, half], n=500)
    assert up["mean"] == pytest.approx(0.25) and 0 < up["low"] < 0.25 < up["high"]
    assert bootstrap_uplift(truth, [right], [right], n=100)["high"] == 0


def test_small_images_train_on_one_cpu_thread_and_the_count_is_restored():
    from ganaug.downstream.classifier import cpu_threads_for

    before = torch.get_num_threads()
    with cpu_threads_for(torch.zeros(2, 1, 28, 28), torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_balanced_classes_train_the_duplicated_minority_arm_once(gray_model, image_folder_factory, gray_sets,
                                                                  tmp_path, monkeypatch):  # fmt: skip
    """With nothing to duplicate, that arm is the real-only arm: the same scores, one training fewer per seed, a note,
    and the seed is kept on disk like any other (two arms sharing one array could not be saved)."""
    from ganaug.evaluation import arms as arms_module

    _, test = gray_sets
    data = image_folder_factory("even", class_counts={"a": 10, "b": 10}, channels=1, seed=3)
    train, calls = arms_module.Arms.run, []
    monkeypatch.setattr(arms_module.Arms, "run", lambda self, job, seed, evaluate=(): calls.append(len(job.y)) or train(
        self, job, seed, evaluate))  # fmt: skip
    opts = {**FAST, "seeds": 2, "device": "cpu", "jobs": 1}
    result = evaluate(gray_model, data, test, out=tmp_path / "ev", warn=lambda m: None, **opts)
    assert result["arms"]["duplicate"]["test"] == result["arms"]["real"]["test"]
    assert result["arms"]["duplicate"]["val"] == result["arms"]["real"]["val"]
    assert any("the classes are balanced" in n for n in result["notes"])
    controls = len(result["uplift"])  # real, duplicate, classical (no distillation: no soft labels)
    assert controls == 3 and len(calls) == 2 * (controls - 1 + 2)  # + the candidate and the chosen one without
    calls.clear()
    imbalanced = evaluate(gray_model, gray_sets[0], test, out=tmp_path / "im", warn=lambda m: None, **opts)
    assert len(calls) == 2 * (controls + 2)  # 10 against 5: the duplicated-minority arm is trained
    assert not any("the classes are balanced" in n for n in imbalanced["notes"])
