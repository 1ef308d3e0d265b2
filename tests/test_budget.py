"""--max-time: durations, a planned run that stops at its budget with an export, resume within it, bad input."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import ganaug
from ganaug.config import FitConfig
from ganaug.errors import GanaugError
from ganaug.training.budget import DEADLINE, SAFETY, Budget, parse_duration

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
    assert training["train_seconds"] <= 10 * DEADLINE + 1  # stops at its budget (one step of slack)
    assert (run.path / "export" / "model.safetensors").is_file()
    every = saved["fit"]["eval_every"]  # auto: set by the first plan, kept by the re-plans
    evals = [r["step"] for r in map(json.loads, (run.path / "log.jsonl").read_text().splitlines()) if "cas" in r]
    assert evals and all(s % every == 0 for s in evals[:-1]) and evals[-1] == run.steps_done


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


class _OneProcess:
    distributed = False
    is_main = True

    def barrier(self) -> None:
        pass


def _walk(budget: Budget, cfg: FitConfig, seconds_per_step, until: int) -> tuple[FitConfig, int, float]:
    """Drive ``budget.check`` as a session does, with a step time given per step; returns the config in force, the
    step at which the run stopped and the time spent then."""
    spent, step = 0.0, 0
    while step < until:
        step += 1
        spent += seconds_per_step(step)
        cfg, stop = budget.check(cfg, step, spent)
        if stop:
            break
    return cfg, step, spent


def test_a_machine_that_slows_down_moves_the_plan_and_the_deadline_stops_it():
    cfg = FitConfig(max_time="100s")
    steady, _, _ = _walk(Budget(cfg, _OneProcess(), 0, 0.0, set()), cfg, lambda s: 1.0, 10**6)
    assert steady.steps == 97  # planned at step 20 from 1 s a step: SAFETY of the budget
    assert steady.sample_every == 9 and steady.checkpoint_every == 19
    slower, stopped, spent = _walk(Budget(cfg, _OneProcess(), 0, 0.0, set()), cfg, lambda s: 1.0 if s <= 30 else 3.0,
                                   10**6)  # fmt: skip
    assert slower.steps < 60 and stopped == slower.steps  # re-planned from the recent step time
    assert spent <= 100 * SAFETY + 3  # and it ended within the budget, not at the first plan's step 97
    capped = FitConfig(max_time="100s", steps=50)
    plan, stopped, _ = _walk(Budget(capped, _OneProcess(), 0, 0.0, {"steps"}), capped, lambda s: 0.1, 10**6)
    assert plan.steps == stopped == 50  # --steps ends first, however fast the steps
    frozen, stopped, spent = _walk(Budget(cfg, _OneProcess(), 0, 0.0, set()), cfg, lambda s: 1.0 if s < 50 else 60.0,
                                   10**6)  # fmt: skip
    assert stopped < frozen.steps or spent >= 100 * DEADLINE  # a stall past the deadline stops at once
    assert spent < 100 + 60


class _TwoRanks(_OneProcess):
    """A torchrun job of two ranks as one rank sees it: the other reports 2 s more time spent."""

    distributed, world_size = True, 2

    def __init__(self):
        self.reductions = []

    def all_reduce_sum(self, values):
        self.reductions.append(float(values[0]))
        return values * 2 + 2.0


def test_torchrun_ranks_decide_at_the_same_steps_from_their_mean_time():
    cfg = FitConfig(max_time="100s")
    engine = _TwoRanks()
    plan, stopped, _ = _walk(Budget(cfg, engine, 0, 0.0, set()), cfg, lambda s: 1.0, 10**6)
    assert len(engine.reductions) == stopped // 10  # one agreement every 10 steps, never in between
    assert stopped == plan.steps == 96  # planned from the mean time (1 s more than this rank), not from its own


def test_a_budget_of_a_few_steps_is_an_error_that_names_the_step_time(tmp_path):
    budget = Budget(FitConfig(max_time="10s"), _OneProcess(), 0, 0.0, set())
    budget.start(2, 1.0, tmp_path, True)  # 10 steps fit: fine
    assert tmp_path.exists()
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(GanaugError, match=r"too short: one training step took 3.00 s here.*give at least 60 s"):
        budget.start(2, 3.0, folder, True)
    assert not folder.exists()  # nothing half written is left


def test_teacher_trains_first_counts_against_the_budget_and_a_resume_reuses_it(tiny_folder, tmp_path):
    opts = {**TINY, "teacher_epochs": 1}
    run = ganaug.fit(tiny_folder, steps=4, checkpoint_every=2, out=tmp_path, name="t", **opts)
    kept = run.path / "teacher" / "teacher.safetensors"

    def same_as_kept() -> bool:
        exported = load_file(run.path / "export" / "teacher.safetensors")
        return all(torch.equal(v, exported[k]) for k, v in load_file(kept).items())

    assert kept.is_file() and same_as_kept()
    before = kept.stat().st_mtime_ns
    resumed = ganaug.fit(resume=run.path, steps=6, progress=False)
    assert resumed.steps_done == 6 and kept.stat().st_mtime_ns == before  # not trained again
    assert same_as_kept()
    with pytest.raises(
        GanaugError, match=r"too short: reading the data and training the teacher classifier took .*--teacher-epochs 0"
    ):
        ganaug.fit(tiny_folder, max_time="0.01s", out=tmp_path / "runs", name="short", **opts)
    assert not (tmp_path / "runs" / "short").exists()


def test_a_time_limit_cuts_the_teachers_and_the_extractors_epochs_and_says_so():
    from types import SimpleNamespace

    from ganaug.downstream.teacher import Teacher
    from ganaug.metrics.extractor import ClassifierExtractor

    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 8, 8, generator=gen) * 2 - 1, torch.arange(40) % 2
    cut = Teacher.train(x, y, class_names=["a", "b"], epochs=30, max_seconds=1e-4)
    assert (cut.info["epochs"], cut.info["epochs_asked"]) == (1, 30) and cut.info["held_out"] is not None
    kept = Teacher.train(x, y, class_names=["a", "b"], epochs=2, max_seconds=1e4)
    assert (kept.info["epochs"], kept.info["epochs_asked"]) == (2, 2)
    assert Teacher.train(x, y, class_names=["a", "b"], epochs=2).info["epochs"] == 2  # no limit: as asked
    dc = SimpleNamespace(channels=1, num_classes=2, height=8, width=8, class_names=["a", "b"])
    extractor = ClassifierExtractor.train(SimpleNamespace(images=x, labels=y, config=dc), epochs=30, max_seconds=1e-4)
    assert (extractor.info["epochs"], extractor.info["epochs_asked"]) == (1, 30)


def test_the_teacher_trains_its_scored_and_exported_networks_side_by_side_with_the_same_weights(monkeypatch):
    """jobs=2: the held-out probe and the exported network train in two forked processes at once (half the wall-clock
    time of one after the other on two cores), and give what one process gives."""
    import ganaug.downstream.workers as workers
    from ganaug.downstream.teacher import Teacher

    calls, original = [], workers.map_seeds
    monkeypatch.setattr(
        workers, "map_seeds", lambda task, items, jobs, **kw: calls.append(jobs) or original(task, items, jobs, **kw)
    )
    gen = torch.Generator().manual_seed(1)
    x, y = torch.rand(60, 1, 8, 8, generator=gen) * 2 - 1, torch.arange(60) % 3
    one = Teacher.train(x, y, class_names=["a", "b", "c"], epochs=2)
    two = Teacher.train(x, y, class_names=["a", "b", "c"], epochs=2, jobs=2)
    assert calls == [2]  # only jobs=2 forked, and both trainings went to the pool
    assert two.info == one.info and two.info["held_out"]["n"] == 12
    assert all(torch.equal(v, two.net.state_dict()[k]) for k, v in one.net.state_dict().items())
    assert Teacher.train(x[:8], y[:8] % 2, class_names=["a", "b"], epochs=1, jobs=2).info["held_out"] is None
    assert calls == [2]  # fewer than 5 samples a class: no probe, nothing to train beside the exported network
    import ganaug.downstream.classifier as classifier

    assert not classifier.one_thread_suits(torch.zeros(1, 3, 65, 64), torch.device("cpu"))
    monkeypatch.setattr(classifier, "one_thread_suits", lambda *a: False)  # images that train on several threads
    assert Teacher.train(x, y, class_names=["a", "b", "c"], epochs=1, jobs=2).info["held_out"] is not None
    assert calls == [2]  # one after the other


def test_budget_too_short_names_the_step_time_and_leaves_nothing(tiny_folder, tmp_path):
    with pytest.raises(
        GanaugError, match=r"too short: (one training step|reading the data) took .* give at least \d+ s"
    ):
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


def test_batchnorm_recalibration_stops_at_its_deadline():
    import time

    from ganaug.models.dcgan import DcganGenerator
    from ganaug.training.ema import RECALIBRATION_BATCHES, recalibrate_batchnorm

    g = DcganGenerator(latent_dim=16, num_classes=2, channels=1, height=16, width=16, ch=8)
    args = (g, 2, 16, torch.device("cpu"))
    assert recalibrate_batchnorm(*args, batch=4) == RECALIBRATION_BATCHES
    before = [m.running_mean.clone() for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert recalibrate_batchnorm(*args, batch=4, deadline=time.perf_counter()) == 1  # at least one batch
    after = [m.running_mean for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert before and not all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_budget_cuts_the_exports_recalibration_and_the_export_says_so(tiny_folder, tmp_path, monkeypatch):
    import ganaug.training.session as session

    monkeypatch.setattr(session, "EXPORT_WORK_SHARE", 0.0)  # nothing left for optional export work: one batch
    run = ganaug.fit(tiny_folder, max_time="10s", out=tmp_path, name="cut", **TINY)
    training = json.loads((run.path / "export" / "config.json").read_text())["training"]
    assert training["batchnorm_recalibration_batches"] == 1
    plain = ganaug.fit(tiny_folder, steps=2, out=tmp_path, name="plain", **TINY)  # no budget: all batches, no entry
    assert (
        "batchnorm_recalibration_batches"
        not in json.loads((plain.path / "export" / "config.json").read_text())["training"]
    )


def test_auto_budget_plans_a_cpu_run_without_steps_and_scales_with_the_pixels(tiny_folder, tmp_path):
    from ganaug.training.budget import default_budget

    opts = {k: v for k, v in TINY.items() if k != "progress"}
    plan = ganaug.fit(tiny_folder, dry_run=True, out=tmp_path, **opts)
    assert plan["fit"]["max_time"] == "600s" and plan["plan"]["max_time_s"] == 600
    assert any("--max-time auto" in note for note in plan["notes"])
    given = ganaug.fit(tiny_folder, dry_run=True, steps=50, out=tmp_path, **opts)
    assert given["fit"]["max_time"] == "" and "plan" not in given  # --steps given: it alone decides
    assert ganaug.fit(tiny_folder, dry_run=True, max_time="none", out=tmp_path, **opts)["fit"]["max_time"] == ""
    cfg = FitConfig()
    assert default_budget(cfg, set(), 64, 64).max_time == "2400s"  # four times the pixels of 32x32
    assert default_budget(cfg, set(), 28, 28).max_time == "600s"
    assert default_budget(cfg.replace(device="cuda"), set(), 28, 28).max_time == ""
    assert default_budget(cfg.replace(max_time="90s"), set(), 28, 28).max_time == "90s"
