"""ganaug.metrics: FID/KID/PRDC properties, per-class FID, memorisation, extractors, fit --eval-every."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import ganaug
from ganaug.data import read_data
from ganaug.errors import GanaugError
from ganaug.metrics import card_metrics, fid, kid, measure_quality, memorisation, per_class_fid, precision_recall
from ganaug.metrics.extractor import ClassifierExtractor, InceptionExtractor, get_extractor

from .helpers import TINY


@pytest.fixture(scope="module")
def feats():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=gen)
    other = torch.randn(300, 8, generator=gen)
    noise = torch.randn(300, 8, generator=gen) * 3 + 4
    return real, other, noise


def test_fid_and_kid_of_a_set_with_itself_is_zero_and_larger_for_noise(feats):
    real, other, noise = feats
    assert fid(real, real) == pytest.approx(0, abs=1e-6)
    same_dist, far = fid(real, other), fid(real, noise)
    assert 0 < same_dist < 1 < far
    far_kid = kid(real, noise)[0]
    assert abs(kid(real, real)[0]) < 0.01 * far_kid and abs(kid(real, other)[0]) < 0.01 * far_kid
    assert fid(real[:1], noise) is None


def test_precision_recall_density_coverage(feats):
    real, _, noise = feats
    same = precision_recall(real, real, k=5)
    assert same["precision"] == 1 and same["recall"] == 1 and same["coverage"] == 1
    apart = precision_recall(real, noise + 20, k=5)
    assert apart["precision"] == 0 and apart["coverage"] == 0


def test_per_class_fid(feats):
    real, _, noise = feats
    y = torch.arange(300) % 2
    out = per_class_fid(real, y, torch.cat([real[y == 0], noise[:1]]), torch.tensor([0] * 150 + [1]), ["a", "b"])
    assert out["a"] == pytest.approx(0, abs=1e-6) and out["b"] is None


def test_memorisation_flags_an_exact_copy():
    gen = torch.Generator().manual_seed(1)
    train, held, fake = (torch.rand(n, 1, 8, 8, generator=gen) * 2 - 1 for n in (30, 15, 12))
    clean, _ = memorisation(fake, train, held)
    assert clean["suspected_copies"] == 0 and not clean["flag"]
    fake[5] = train[7]
    report, pairs = memorisation(fake, train, held, pairs=4)
    assert report["flag"] and report["suspected_copies"] == 1
    assert report["closest"][0] == {"synthetic": 5, "train": 7, "distance": 0.0}
    assert pairs.shape == (8, 1, 8, 8) and torch.equal(pairs[0], pairs[4])


def test_classifier_extractor_round_trip_and_reuse(image_folder_factory, tmp_path):
    data = read_data(image_folder_factory("d", class_counts={"a": 6, "b": 6}))
    ex = ClassifierExtractor.train(data, epochs=2)
    assert ex.name.startswith("ganaug-cnn-") and ex.info["train_samples"] == 12
    ex.save(tmp_path / "m")
    back = get_extractor("classifier", data=data, folder=tmp_path / "m")
    assert back.name == ex.name and torch.allclose(back(data.images), ex(data.images))
    assert json.loads((tmp_path / "m" / "extractor.json").read_text())["name"] == ex.name
    other = read_data(image_folder_factory("e", class_counts={"a": 5, "b": 5}, seed=3))
    assert get_extractor("classifier", data=other, folder=tmp_path / "m", epochs=1).name != ex.name
    with pytest.raises(GanaugError, match="unknown feature extractor"):
        get_extractor("vgg")


def test_inception_only_from_local_safetensors(tmp_path, monkeypatch):
    import torch_fidelity.feature_extractor_inceptionv3 as tfi
    from safetensors.torch import save_file

    monkeypatch.setenv("GANAUG_INCEPTION_WEIGHTS", str(tmp_path / "missing.safetensors"))
    with pytest.raises(GanaugError, match="InceptionV3 weights are not on this machine"):
        get_extractor("inception")
    # random weights of the right shapes stand in for the real ones
    with monkeypatch.context() as m:
        m.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        state = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    monkeypatch.setenv("GANAUG_INCEPTION_WEIGHTS", str(tmp_path / "w.safetensors"))
    ex = get_extractor("auto")
    assert isinstance(ex, InceptionExtractor) and ex.name == "inception-v3-compat"
    assert ex(torch.zeros(2, 1, 8, 8)).shape == (2, 2048)


def test_measure_quality_names_the_extractor(tiny_gray_run, image_folder_factory, tmp_path):
    train = read_data(tiny_gray_run.parent.parent / "data")
    held = read_data(image_folder_factory("held", class_counts={"a": 4, "b": 4}, channels=1, seed=5))
    q = measure_quality(tiny_gray_run, train, heldout=held, epochs=2, folder=tmp_path, pairs_path=tmp_path / "p.png")
    assert q["extractor"].startswith("ganaug-cnn-") and q["reference"] == "held-out"
    assert q["fid"] > 0 and set(q["per_class_fid"]) == {"a", "b"} and 0 <= q["cas"]["accuracy"] <= 1
    assert {"precision", "recall", "density", "coverage", "kid"} <= set(q) and (tmp_path / "p.png").is_file()
    assert list(card_metrics(q)) == [f"quality[{q['extractor']}]"]


def test_fit_eval_every_tracks_fid_and_exports_the_best(tiny_folder, tmp_path):
    run = ganaug.fit(tiny_folder, **TINY, steps=6, eval_every=2, eval_metric="fid", out=tmp_path, name="r",
                     progress=False)  # fmt: skip
    log = [json.loads(line) for line in (run.path / "log.jsonl").read_text().splitlines()]
    evals = [r for r in log if "fid" in r]
    assert [r["step"] for r in evals] == [2, 4, 6]
    name = evals[0]["extractor"]
    assert name.startswith("ganaug-cnn-") and (run.path / "metrics" / "extractor.safetensors").is_file()
    best = json.loads((run.path / "checkpoints" / "best" / "best.json").read_text())
    assert best["fid"] == min(r["fid"] for r in evals)
    config = json.loads((run.path / "export" / "config.json").read_text())
    assert config["metrics"][f"quality[{name}]"]["fid"] == pytest.approx(best["fid"], rel=1e-5)
    assert config["training"]["best_step"] == best["step"]
    from safetensors.torch import load_file

    exported = load_file(str(run.path / "export" / "model.safetensors"))
    kept = load_file(str(run.path / "checkpoints" / "best" / "model.safetensors"))
    assert all(torch.equal(exported[k], kept[k]) for k in kept)
    shutil.rmtree(run.path)


def test_a_fit_with_a_teacher_measures_with_the_teacher_instead_of_training_a_second_classifier(tiny_folder, tmp_path):
    run = ganaug.fit(tiny_folder, **{**TINY, "teacher_epochs": 1}, steps=2, eval_every=2, out=tmp_path, name="t",
                     progress=False)  # fmt: skip
    from safetensors.torch import load_file

    teacher = load_file(str(run.path / "teacher" / "teacher.safetensors"))
    extractor = load_file(str(run.path / "metrics" / "extractor.safetensors"))
    assert extractor.keys() == teacher.keys() and all(torch.equal(extractor[k], teacher[k]) for k in teacher)
    info = json.loads((run.path / "metrics" / "extractor.json").read_text())
    assert info["trained_as"].startswith("the run's teacher classifier") and info["epochs"] == 1
    log = [json.loads(line) for line in (run.path / "log.jsonl").read_text().splitlines()]
    assert [r["extractor"] for r in log if "fid" in r] == [info["name"]]
    shutil.rmtree(run.path)


def test_fit_eval_metric_cas_keeps_the_weights_with_best_class_fidelity(tiny_folder, tmp_path):
    run = ganaug.fit(tiny_folder, **TINY, steps=6, eval_every=3, eval_metric="cas", out=tmp_path, name="c",
                     progress=False)  # fmt: skip
    evals = [r for r in (json.loads(x) for x in (run.path / "log.jsonl").read_text().splitlines()) if "cas" in r]
    assert [r["step"] for r in evals] == [3, 6] and all(0 <= r["cas"] <= 1 and r["fid"] > 0 for r in evals)
    best = json.loads((run.path / "checkpoints" / "best" / "best.json").read_text())
    assert best["metric"] == "cas" and best["cas"] == max(r["cas"] for r in evals)
    assert best["step"] == next(r["step"] for r in evals if r["cas"] == best["cas"])  # the first step reaching it
    training = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert training["best_by"] == "cas" and training["best_cas"] == best["cas"]
    with pytest.raises(GanaugError, match="eval_metric"):
        ganaug.fit(tiny_folder, **TINY, steps=1, eval_every=1, eval_metric="kid", out=tmp_path, progress=False)


@pytest.mark.parametrize("scores", [(0.4, 0.5, 0.6), (0.4, 0.6, 0.5)])
def test_a_fit_whose_cas_still_rises_at_its_end_says_a_longer_fit_may_help(tiny_folder, tmp_path, monkeypatch, capsys,
                                                                          scores):  # fmt: skip
    from ganaug.metrics.tracking import QualityTracker

    measured = iter(scores)  # the CAS of each fit-time measurement, in order
    monkeypatch.setattr(QualityTracker, "_cas", lambda self, fake: next(measured))
    run = ganaug.fit(tiny_folder, **TINY, steps=6, eval_every=2, eval_metric="cas", out=tmp_path, name="c",
                     progress=False)  # fmt: skip
    rising = scores[-1] == max(scores)
    training = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert training["best_cas"] == max(scores) and training["best_step"] == 2 * (scores.index(max(scores)) + 1)
    assert training.get("cas_still_rising", False) is rising
    card = (run.path / "export" / "README.md").read_text()
    assert ("still rising at the last measurement" in card) is rising
    assert (
        "note: the fit-time CAS was highest at the last measurement (0.6, step 6)" in capsys.readouterr().out
    ) is rising
    shutil.rmtree(run.path)


def test_cas_trains_class_balanced_so_a_rare_class_counts():
    from ganaug.metrics.quality import classifier_accuracy_score

    gen = torch.Generator().manual_seed(0)

    def images(y):
        x = torch.randn(len(y), 1, 8, 8, generator=gen) * 0.3
        x[y == 1, :, :4] += 1.5
        return x.clamp(-1, 1)

    fake_y = torch.cat([torch.zeros(200, dtype=torch.long), torch.ones(6, dtype=torch.long)])
    test_y = torch.arange(40) % 2
    cas = classifier_accuracy_score(images(fake_y), fake_y, images(test_y), test_y, 2, steps=100, device="cpu")
    assert cas["balanced_accuracy"] > 0.9


def test_eval_split_measures_against_data_the_generator_never_saw(tiny_npz, tiny_folder, tmp_path):
    run = ganaug.fit(tiny_npz, **TINY, steps=4, eval_every=2, eval_split="val", eval_metric="cas", out=tmp_path,
                     name="v", progress=False)  # fmt: skip
    evals = [r for r in (json.loads(x) for x in (run.path / "log.jsonl").read_text().splitlines()) if "cas" in r]
    assert [r["step"] for r in evals] == [2, 4]
    training = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert training["best_fid_reference"] == "held-out split" and training["best_by"] == "cas"
    with pytest.raises(GanaugError, match="needs DATA with splits"):
        ganaug.fit(tiny_folder, **TINY, steps=1, eval_every=1, eval_split="val", out=tmp_path, progress=False)
    with pytest.raises(GanaugError, match="give --eval-every N too"):
        ganaug.fit(tiny_npz, **TINY, steps=1, eval_split="val", out=tmp_path, progress=False)


def test_eval_split_auto_is_the_validation_split_when_data_has_one(tiny_npz, tiny_folder, tmp_path):
    from ganaug.data.splits import held_out_split, split_names

    assert split_names(tiny_npz) == ["test", "train", "val"]
    assert held_out_split(tiny_npz, "train") == "val" and held_out_split(tiny_npz, "val") == ""
    assert split_names(tiny_folder) == [] and held_out_split(tiny_folder, "train") == ""
    run = ganaug.fit(tiny_npz, **TINY, steps=4, eval_every=2, eval_metric="cas", eval_split="auto", out=tmp_path,
                     name="auto", progress=False)  # fmt: skip
    training = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert training["best_fid_reference"] == "held-out split"
    assert json.loads((run.path / "fit_config.json").read_text())["fit"]["eval_split"] == "val"
    card = (run.path / "export" / "README.md").read_text()
    assert f"at step {training['best_step']} of 4, the highest CAS" in card and "on the held-out split" in card
    folder = ganaug.fit(tiny_folder, **TINY, steps=4, eval_every=2, eval_metric="cas", eval_split="auto",
                        out=tmp_path, name="f", progress=False)  # fmt: skip
    training = json.loads((folder.path / "export" / "config.json").read_text())["training"]
    assert training["best_fid_reference"] != "held-out split"
    own = ganaug.fit(tiny_npz, **TINY, steps=2, eval_every=2, eval_metric="cas", out=tmp_path, name="own",
                     progress=False)  # the default: the training data  # fmt: skip
    assert json.loads((own.path / "export" / "config.json").read_text())["training"]["best_fid_reference"] == (
        "training data"
    )
    quiet = ganaug.fit(tiny_npz, **TINY, steps=2, eval_split="auto", out=tmp_path, name="off", progress=False)
    assert json.loads((quiet.path / "fit_config.json").read_text())["fit"]["eval_split"] == ""
