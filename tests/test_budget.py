"""--max-time: durations, a planned run that stops at its budget with an export, resume within it, bad input."""

from __future__ import annotations

import json

import pytest

import ganaug
from ganaug.errors import GanaugError
from ganaug.training.budget import HARD_STOP, parse_duration

from .cyclegan_support import TINY_CG, one_thread, write_domain  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")  # timing: no thread oversubscription on a busy machine

TINY = {"arch": "dcgan", "ch": 8, "latent_dim": 16, "batch_size": 8, "progress": False, "teacher_epochs": 0}


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2.5m", 150), ("45", 45)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "10 minutes", "0s", "-5m", "1x", "m10"])
def test_bad_durations_say_what_is_accepted(text):
    with pytest.raises(GanaugError, match="--max-time.*(90s, 10m|positive duration)"):
        parse_duration(text)


def test_budgeted_run_plans_its_steps_and_exports(tiny_folder, tmp_path):
    run = ganaug.fit(tiny_folder, max_time="10s", out=tmp_path, name="budget", **TINY)
    saved = json.loads((run.path / "fit_config.json").read_text())
    planned = saved["fit"]["steps"]
    assert planned != 5000 and 1 <= run.steps_done <= planned  # planned from the measured step time
    assert saved["fit"]["sample_every"] == max(1, planned // 10) and saved["plan"]["max_time_s"] == 10
    config = json.loads((run.path / "export" / "config.json").read_text())
    training = config["training"]
    assert training["max_time_s"] == 10 and training["steps_done"] == run.steps_done
    assert training["train_seconds"] <= 10 * HARD_STOP + 1  # stops at its budget (one step of slack)
    assert (run.path / "export" / "model.safetensors").is_file()


def test_steps_and_max_time_whichever_ends_first_and_resume_keeps_the_plan(tiny_folder, tmp_path):
    run = ganaug.fit(tiny_folder, max_time="10m", steps=30, checkpoint_every=10, out=tmp_path, name="both", **TINY)
    assert run.steps_done == 30  # --steps ended first
    saved = json.loads((run.path / "fit_config.json").read_text())
    assert saved["fit"]["steps"] == 30 and "steps" in saved["user_set"]
    first = json.loads((run.path / "export" / "config.json").read_text())["training"]["train_seconds"]
    resumed = ganaug.fit(resume=run.path, steps=40, progress=False)
    assert resumed.steps_done == 40
    again = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert again["train_seconds"] >= first and again["max_time_s"] == 600  # time already spent is counted


def test_budget_too_short_names_the_step_time_and_leaves_nothing(tiny_folder, tmp_path):
    with pytest.raises(GanaugError, match=r"too short: one training step took .* give at least \d+ s"):
        ganaug.fit(tiny_folder, max_time="0.001s", out=tmp_path / "runs", name="short", **TINY)
    assert not (tmp_path / "runs" / "short").exists()


def test_dry_run_shows_the_plan(tiny_folder, tmp_path):
    resolved = ganaug.fit(tiny_folder, max_time="10m", steps=100, dry_run=True, out=tmp_path, **TINY)
    assert resolved["plan"]["max_time_s"] == 600 and "at most 100" in resolved["plan"]["steps"]
    with pytest.raises(GanaugError, match="not a duration"):
        ganaug.fit(tiny_folder, max_time="ten minutes", dry_run=True, out=tmp_path, **TINY)


def test_cyclegan_run_stops_at_its_budget(tmp_path):
    a = write_domain(tmp_path / "A", 6, 1)
    b = write_domain(tmp_path / "B", 6, 3, seed=1)
    opts = dict(TINY_CG, out=tmp_path / "runs", cyclegan_guard_steps=0)
    run = ganaug.fit([a, b], **opts, max_time="10s", name="cg")
    saved = json.loads((run.path / "fit_config.json").read_text())
    assert 1 <= run.steps_done <= saved["fit"]["steps"] != 5000  # planned, not the default
    assert (run.path / "export" / "config.json").is_file()
