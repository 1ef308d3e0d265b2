"""ganaug tune: an Optuna search of short fits, FID as objective, best options written as usable JSON."""

from __future__ import annotations

import json

import pytest

import ganaug
from ganaug.errors import GanaugError
from ganaug.evaluation.tune import tune

from .helpers import run_cli

pytest.importorskip("optuna")


def test_tune_command_writes_usable_best_options(tiny_folder, tmp_path):
    out = tmp_path / "tune"
    proc = run_cli(
        "tune", str(tiny_folder), "--trials", "2", "--steps", "2", "--arch", "dcgan", "--batch-size", "8",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "objective: FID vs the real training data (ganaug-cnn-" in proc.stdout and "best: FID" in proc.stdout
    best = json.loads((out / "best_config.json").read_text())
    assert {"lr_g", "lr_d", "loss", "augment", "ch", "arch", "batch_size"} <= set(best)
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials["trials"]) == 2 and trials["best"]["fid"] == min(t["fid"] for t in trials["trials"])
    resolved = ganaug.fit(tiny_folder, dry_run=True, **best)
    assert resolved["fit"]["lr_g"] == best["lr_g"] and resolved["fit"]["loss"] == best["loss"]


def test_tune_refuses_fixing_a_searched_option(tiny_folder, tmp_path):
    with pytest.raises(GanaugError, match="searched by tune"):
        tune(tiny_folder, trials=1, steps=1, out=tmp_path, loss="hinge")
