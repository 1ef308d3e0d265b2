"""The Inception Score with a pluggable classifier (ganaug.metrics) and the t-SNE view of the report."""

from __future__ import annotations

import base64
import io
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganaug.data import read_data
from ganaug.errors import GanaugError
from ganaug.evaluation.io import quality_markdown
from ganaug.metrics import (
    ClassifierExtractor,
    FeatureExtractor,
    card_metrics,
    inception_score,
    inception_score_from_logits,
    measure_quality,
)
from ganaug.report import build_report
from ganaug.report.plots import embed_2d


class SignClassifier(nn.Module):
    """Class 1 for images brighter than mid-gray, class 0 otherwise, with confident logits."""

    name = "sign-of-mean"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot((x.flatten(1).mean(1) > 0).long(), 2).float() * 40


def test_inception_score_is_the_class_count_for_confident_balanced_predictions_and_one_for_constant():
    k = 4
    confident = nn.functional.one_hot(torch.arange(400) % k, k).double() * 50
    assert inception_score_from_logits(confident, splits=1) == (pytest.approx(k, rel=1e-6), None)
    mean, std = inception_score_from_logits(confident, splits=10, seed=1)
    assert k - 0.3 < mean <= k and std is not None and std > 0
    assert inception_score_from_logits(confident, splits=10, seed=1) == (mean, std)  # seeded splits
    constant = torch.tensor([[30.0, 0, 0, 0]]).repeat(100, 1)
    assert inception_score_from_logits(constant)[0] == pytest.approx(1, abs=1e-9)
    assert inception_score_from_logits(torch.zeros(100, k))[0] == pytest.approx(1, abs=1e-9)  # unsure: also 1
    assert inception_score_from_logits(confident[:1]) is None


def test_inception_score_takes_any_classifier_and_names_it():
    half = torch.cat([torch.full((20, 1, 8, 8), 0.5), torch.full((20, 1, 8, 8), -0.5)])
    out = inception_score(half, SignClassifier(), splits=1)
    assert out["classifier"] == "sign-of-mean" and out["inception_score"] == pytest.approx(2, rel=1e-6)
    assert inception_score(half[:20], SignClassifier(), splits=1)["inception_score"] == pytest.approx(1, abs=1e-9)
    assert inception_score(half, nn.Sequential(nn.Flatten(), nn.Linear(64, 3)))["classifier"] == "Sequential"

    class Pixels(FeatureExtractor):
        name = "pixels"

        def features(self, images):
            return images.flatten(1)

    with pytest.raises(GanaugError, match="not class logits"):
        inception_score(half, Pixels())
    with pytest.raises(GanaugError, match="unknown Inception Score classifier"):
        inception_score(half, "inception-v3")


def test_default_inception_classifier_is_the_own_data_classifier(image_folder_factory, tmp_path):
    data = read_data(image_folder_factory("d", class_counts={"a": 6, "b": 6}))
    out = inception_score(data.images, data=data, folder=tmp_path / "m", epochs=2)
    saved = ClassifierExtractor.load(tmp_path / "m")
    assert out["classifier"] == saved.name and out["classifier"].startswith("ganaug-cnn-")
    assert 1 <= out["inception_score"] <= 2 + 1e-6 and out["n"] == 12
    with pytest.raises(GanaugError, match="needs the real training data"):
        inception_score(data.images)


def test_measure_quality_reports_the_inception_score_with_its_classifier(tiny_gray_run, image_folder_factory, tmp_path):
    train = read_data(tiny_gray_run.parent.parent / "data")
    held = read_data(image_folder_factory("held", class_counts={"a": 4, "b": 4}, channels=1, seed=5))
    q = measure_quality(tiny_gray_run, train, heldout=held, epochs=2, folder=tmp_path, cas=False)
    assert q["inception_score_classifier"] == q["extractor"]
    assert 1 <= q["inception_score"] <= 2 + 1e-6 and 1 <= q["inception_score_real"] <= 2 + 1e-6
    table = quality_markdown(q)
    assert "| IS |" in table and f"classifier `{q['extractor']}`" in table
    assert card_metrics(q)[f"quality[{q['extractor']}]"]["inception_score"] == round(q["inception_score"], 6)
    own = measure_quality(tiny_gray_run, train, heldout=held, epochs=2, folder=tmp_path, cas=False,
                          is_classifier=SignClassifier())  # fmt: skip
    assert own["inception_score_classifier"] == "sign-of-mean" and own["fid"] == q["fid"]
    card = card_metrics(own)
    assert card["quality[sign-of-mean]"] == {"inception_score": round(own["inception_score"], 6)}
    assert "inception_score" not in card[f"quality[{own['extractor']}]"]


def test_tsne_keeps_separate_clusters_apart_and_names_its_perplexity():
    gen = torch.Generator().manual_seed(0)
    blobs = torch.cat([torch.randn(40, 20, generator=gen), torch.randn(40, 20, generator=gen) + 12]).numpy()
    labels = np.repeat([0, 1], 40)
    xy, label = embed_2d(blobs, "tsne", seed=0)
    assert xy.shape == (80, 2) and label == "t-SNE (perplexity 26.3)"
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1) + np.eye(80) * 1e9
    assert (labels[d.argmin(1)] == labels).all()  # every point's nearest neighbour is of its own blob
    assert embed_2d(blobs, "pca")[1] == "PCA"
    with pytest.raises(ValueError, match="at least 4 samples"):
        embed_2d(blobs[:3], "tsne")


def test_report_shows_a_tsne_beside_the_pca_and_the_inception_score(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    page = build_report(run).read_text(encoding="utf-8")
    assert "t-SNE of pixels (no extractor in this run)" in page and "Inception Score" not in page
    ex = ClassifierExtractor.train(read_data(tiny_run.parent.parent / "data"), epochs=2)
    ex.save(run / "metrics")
    page = build_report(run).read_text(encoding="utf-8")
    features = page.split('<section id="features">')[1].split("</section>")[0]
    assert f"PCA of features of {ex.name}" in features and f"t-SNE of features of {ex.name}" in features
    assert f"Inception Score with classifier {ex.name}" in features and "gaps between clusters" in features
    tsne = re.search(r'<img[^>]* src="data:image/png;base64,([^"]+)" alt="t-SNE', features)
    assert tsne is not None
    Image.open(io.BytesIO(base64.b64decode(tsne.group(1)))).verify()
