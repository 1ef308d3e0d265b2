"""--arch progan: growth per stage, the fade, exact resume mid-fade, export, sample grid titles, the drift penalty,
bad input."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file

import ganaug
from ganaug.cli import main
from ganaug.config import FitConfig
from ganaug.errors import GanaugError
from ganaug.fitting import resolve_config
from ganaug.models.progan import ProganDiscriminator, ProganGenerator, minibatch_stddev
from ganaug.training.engine import create_engine
from ganaug.training.loop import CganTrainer
from ganaug.training.losses import drift_penalty
from ganaug.training.progan_schedule import Growth, StageSchedule

from .helpers import TINY, write_class_folder

# 16x16 data: stages 4x4, 8x8, 16x16; 4 steps of 8 images per phase -> stage 1 fades over steps 5..8
OPTS = dict(TINY, arch="progan", progan_stage_images=32, sample_every=100, progress=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_class_folder(tmp_path_factory.mktemp("progan") / "data", {"a": 6, "b": 6}, size=16)


def _log(path) -> list[dict]:
    return [json.loads(line) for line in (path / "log.jsonl").read_text().splitlines() if "loss_d" in line]


def _ckpt(path):
    latest = json.loads((path / "checkpoints" / "latest.json").read_text())["path"]
    return load_file(str(path / "checkpoints" / latest / "state.safetensors"))


def test_networks_grow_their_resolution_per_stage_and_keep_the_data_size():
    g = ProganGenerator(latent_dim=8, num_classes=2, channels=1, height=16, width=16, ch=4)
    d = ProganDiscriminator(latent_dim=8, num_classes=2, channels=1, height=16, width=16, ch=4)
    z, y = torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 0, 1])
    for stage, side in enumerate((4, 8, 16)):
        g.set_growth(stage, 1.0)
        x = g(z, y)
        assert x.shape == (4, 1, 16, 16) and d(x, y).shape == (4,)
        blocks = x.unfold(2, 16 // side, 16 // side).unfold(3, 16 // side, 16 // side)  # constant within a block
        assert torch.equal(blocks.amax(dim=(-1, -2)), blocks.amin(dim=(-1, -2))), stage
    g.set_growth(2, 0.0)
    faded_out = g(z, y)
    g.set_growth(1, 1.0)
    assert torch.allclose(faded_out, g(z, y), atol=1e-6)  # alpha 0 is the stage before, upsampled
    with pytest.raises(GanaugError, match="out of range"):
        g.set_growth(3, 1.0)
    assert minibatch_stddev(torch.randn(6, 3, 4, 4)).shape == (6, 4, 4, 4)


def test_schedule_positions_and_rows():
    s = StageSchedule(((4, 4), (8, 8), (16, 16)), stage_images=32, batch_size=8)
    assert [s.position(8 * (step - 1)) for step in (1, 4, 5, 7, 9, 13, 15, 99)] == [
        (0, 1.0), (0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0),
    ]  # fmt: skip
    rows = s.rows(steps=24)
    assert [(r["resolution"], r["from_step"]) for r in rows] == [("4x4", 1), ("8x8", 5), ("16x16", 13)]
    assert rows[1]["fade_steps"] == 4 and rows[1]["stable_steps"] == 4 and rows[2]["stable_steps"] == 8


def test_under_a_time_budget_every_phase_gets_an_equal_share_of_the_training_time():
    s = StageSchedule(((4, 4), (8, 8), (16, 16)), stage_images=32, batch_size=8)  # 5 phases of 20% each
    positions = [s.position_in_time(f) for f in (0.0, 0.1, 0.3, 0.5, 0.7, 0.95, 1.5)]
    assert positions == [(0, 1.0), (0, 1.0), (1, pytest.approx(0.5)), (1, 1.0), (2, pytest.approx(0.5)), (2, 1.0),
                         (2, 1.0)]  # fmt: skip
    cfg = FitConfig(arch="progan", max_time="100s", batch_size=8)
    growth = Growth(cfg, 16, 16)
    assert growth.timed and growth.position_at(cfg, 500) == (0, 1.0)  # no time measured yet: where it is
    growth.clock(5.0, 105.0)  # the first training step ended 5 s into the run: the training time starts there
    growth.clock(35.0, 105.0)  # 30 of the 100 s of training time: the middle of the first fade, whatever the step
    assert growth.position_at(cfg, 7) == (1, pytest.approx(0.5)) == growth.position_at(cfg, 700)
    growth.advance(cfg, 7)
    state = growth.state()
    assert state["timed"] and state["clock_from"] == 5.0 and state["stage"] == 1
    again = Growth(cfg, 16, 16)
    again.load(state, 7)  # a resume keeps where the training time began
    again.clock(75.0, 105.0)
    assert again.clock_from == 5.0 and again.position_at(cfg, 8) == (2, pytest.approx(0.5))
    assert not Growth(cfg.replace(progan_stage_images=64), 16, 16).timed  # images given: phases by images


def test_a_budgeted_fit_grows_by_time_and_says_so(folder, tmp_path):
    shown = json.loads(CliRunner().invoke(main, ["fit", str(folder), "--arch", "progan", "--max-time", "10m",
                                                 "--dry-run"]).output)  # fmt: skip
    assert "each an equal share of the training time" in shown["progan"]["schedule"]
    assert [r["from"] for r in shown["progan"]["stages"]] == [f"{v} of the training time" for v in
                                                              ("0.0%", "20.0%", "60.0%")]  # fmt: skip
    opts = {k: v for k, v in OPTS.items() if k != "progan_stage_images"}
    run = ganaug.fit(folder, **opts, max_time="8s", log_every=1, out=tmp_path, name="timed")
    stages = [r["stage"] for r in _log(run.path)]
    # never back a stage; how far an 8-second run grows depends on the machine's load (the mapping from the time gone
    # to the stage is tested above), so only the order is asserted here
    assert stages == sorted(stages) and stages[0] == 0
    assert json.loads((run.path / "fit_config.json").read_text())["fit"]["progan_stage_images"] == 0
    latest = json.loads((run.path / "checkpoints" / "latest.json").read_text())["path"]
    meta = json.loads((run.path / "checkpoints" / latest / "state.json").read_text())["progan"]
    assert meta["timed"] and meta["clock_from"] > 0 and meta["stage"] == stages[-1]  # the last step's stage is saved
    card = (run.export / "README.md").read_text()
    assert "- stage schedule: 4x4 -> 8x8 -> 16x16, 5 phases" in card and "faded in over" not in card


def test_fit_grows_fades_titles_grids_and_exports_full_size(folder, tmp_path):
    run = ganaug.fit(folder, **{**OPTS, "sample_every": 6}, steps=18, log_every=1, out=tmp_path, name="grow")
    log = _log(run.path)
    assert [r["stage"] for r in log] == [0] * 4 + [1] * 8 + [2] * 6
    fade = [r["alpha"] for r in log[4:8]]
    assert fade == [0.0, 0.25, 0.5, 0.75] and all(r["alpha"] == 1.0 for r in log[8:12])
    grid = Image.open(run.path / "samples" / "step-0000006.png")
    plain = Image.open(run.path / "export" / "samples.png")
    assert grid.height == plain.height + 18  # the title margin: "step 6, stage 1 of 2: 8x8, fading in (alpha 0.25)"
    config = json.loads((run.export / "config.json").read_text())
    assert config["arch"] == "progan" and config["training"]["progan_stage"] == 2
    assert config["training"]["progan_size"] == "16x16"
    g = ganaug.load_generator(run.path)
    x = g.sample("b", n=3, seed=0)
    assert x.shape == (3, 1, 16, 16) and torch.equal(x, g.sample("b", n=3, seed=0))
    aug = ganaug.GANAugment(run.path, p=1.0, seed=0)
    out, label = aug(Image.new("L", (16, 16)), 1)
    assert out.size == (16, 16) and label == 1
    saved = json.loads((run.path / "fit_config.json").read_text())
    assert saved["fit"]["lr_g"] == 1e-3 and saved["fit"]["d_steps"] == 1 and saved["fit"]["loss"] == "wgan-gp"
    assert saved["fit"]["progan_drift"] == 0.001 and config["training"]["progan_drift"] == 0.001
    assert all(r["loss_drift"] > 0 for r in log)  # the drift term is logged while it is on
    card = (run.export / "README.md").read_text()
    assert "- progressive growing (ProGAN): reached stage 2 of 2 (16x16); final resolution 16x16\n" in card
    assert "- each new resolution faded in over 32 real images, then trained as many at that size" in card
    assert "- drift penalty 0.001 x the mean square of D's outputs on real images" in card
    assert config["training"]["progan_stage_images"] == 32


def test_the_card_of_an_export_taken_midway_names_its_stage(folder, tmp_path):
    """A run stopped before the last stage (as a --max-time budget does) without the drift penalty."""
    run = ganaug.fit(folder, **OPTS, steps=6, progan_drift=0, out=tmp_path, name="midway")
    card = (run.export / "README.md").read_text()
    stage = "stage 1 of 2 (8x8, fading in at alpha 0.25); final resolution 16x16; its samples are upsampled to 16x16"
    assert stage in card
    assert "faded in over 32 real images" in card and "drift penalty" not in card


def test_resume_in_the_middle_of_a_fade_is_bit_exact(folder, tmp_path):
    opts = dict(OPTS, steps=10, checkpoint_every=6, log_every=1, out=tmp_path)
    whole = ganaug.fit(folder, **opts, name="whole")
    half = ganaug.fit(folder, **{**opts, "steps": 6}, name="half")
    meta = json.loads(next((half.path / "checkpoints").glob("step-*/state.json")).read_text())
    assert meta["progan"]["stage"] == 1 and meta["progan"]["alpha"] == 0.25  # step 6: in the middle of the fade
    resumed = ganaug.fit(resume=half.path, steps=10, progress=False)
    a, b = _ckpt(whole.path), _ckpt(resumed.path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["alpha"] for r in _log(resumed.path)] == [r["alpha"] for r in _log(whole.path)]
    assert [r["loss_drift"] for r in _log(resumed.path)] == [r["loss_drift"] for r in _log(whole.path)]


def test_a_resume_with_another_schedule_is_an_error(folder, tmp_path):
    run = ganaug.fit(folder, **OPTS, steps=6, checkpoint_every=6, out=tmp_path, name="r")
    with pytest.raises(GanaugError, match="cannot change"):
        ganaug.fit(resume=run.path, progan_stage_images=64, progress=False)
    cfg_path = run.path / "fit_config.json"
    saved = json.loads(cfg_path.read_text())
    saved["fit"]["progan_stage_images"] = 64  # as a run folder written by another version would say
    cfg_path.write_text(json.dumps(saved))
    with pytest.raises(GanaugError, match=r"stage schedule midway.*--progan-stage-images 32"):
        ganaug.fit(resume=run.path, steps=8, progress=False)


def test_a_run_saved_before_the_drift_penalty_resumes_without_it(folder, tmp_path):
    run = ganaug.fit(folder, **OPTS, steps=4, checkpoint_every=4, log_every=1, out=tmp_path, name="old")
    cfg_path = run.path / "fit_config.json"
    saved = json.loads(cfg_path.read_text())
    del saved["fit"]["progan_drift"]  # as a run folder written before the option existed says
    cfg_path.write_text(json.dumps(saved))
    ganaug.fit(resume=run.path, steps=6, progress=False)
    log = _log(run.path)
    assert len(log) == 6 and all("loss_drift" in r for r in log[:4]) and not any("loss_drift" in r for r in log[4:])


def test_bad_sizes_and_options_are_clear_errors(folder, tmp_path):
    with pytest.raises(GanaugError, match=r"the height 12 is not: the nearest are 8 or 16.*--resolution 16"):
        ganaug.fit(folder, **OPTS, resolution=12, dry_run=True)
    with pytest.raises(GanaugError, match="applies to --arch progan only"):
        ganaug.fit(folder, **{**OPTS, "arch": "dcgan"}, dry_run=True)
    with pytest.raises(GanaugError, match="not progan"):
        ganaug.fit(folder, **OPTS, info_codes="cat:2", dry_run=True)
    with pytest.raises(GanaugError, match="--progan-drift applies to --arch progan only"):
        ganaug.fit(folder, **{**OPTS, "arch": "dcgan", "progan_stage_images": 0}, progan_drift=0.01, dry_run=True)
    with pytest.raises(GanaugError, match=r"progan_drift=-0.5 is not accepted; give a weight >= 0, or -1 for auto"):
        ganaug.fit(folder, **OPTS, progan_drift=-0.5, dry_run=True)
    with pytest.raises(GanaugError, match="do not apply to --task cyclegan: --progan-drift"):
        ganaug.fit((folder, folder), task="cyclegan", progan_drift=0.01, dry_run=True)


def test_dry_run_prints_the_stage_schedule(folder):
    result = CliRunner().invoke(main, ["fit", str(folder), "--arch", "progan", "--steps", "50", "--dry-run"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["fit"]["progan_stage_images"] == 64 * 10  # 50 steps over 5 phases, batch 64
    assert [r["resolution"] for r in shown["progan"]["stages"]] == ["4x4", "8x8", "16x16"]
    assert shown["progan"]["stages"][1] == {"stage": 1, "resolution": "8x8", "from_step": 11, "fade_images": 640,
                                            "fade_steps": 10, "stable_images": 640, "stable_steps": 10}  # fmt: skip
    assert "4x4 -> 8x8 -> 16x16" in shown["progan"]["schedule"]
    assert shown["fit"]["progan_drift"] == 0.001  # on by default with wgan-gp, recorded in the run's config
    for args, drift in ((["--progan-drift", "0"], 0.0), (["--loss", "hinge"], 0.0), (["--progan-drift", "0.01"], 0.01)):
        result = CliRunner().invoke(main, ["fit", str(folder), "--arch", "progan", *args, "--dry-run"])
        assert result.exit_code == 0 and json.loads(result.output)["fit"]["progan_drift"] == drift, result.output


def test_drift_penalty_is_epsilon_times_the_mean_square_of_d_on_real_images():
    assert drift_penalty(torch.tensor([1.0, -2.0, 3.0])).item() == pytest.approx(14 / 3)
    gen = torch.Generator().manual_seed(0)
    images, labels = torch.rand(12, 1, 16, 16, generator=gen) * 2 - 1, torch.tensor([0, 1] * 6)
    args = dict(latent_dim=8, num_classes=2, channels=1, height=16, width=16, ch=8)

    def first_step(**opts) -> tuple[FitConfig, dict, torch.Tensor]:
        """The resolved config, the first step's stats and D's logits on its real batch."""
        given = dict(arch="progan", steps=4, batch_size=4, ch=8, latent_dim=8, augment="none", **opts)
        cfg = resolve_config(FitConfig.from_dict(given), set(given))
        trainer = CganTrainer(cfg, images, labels, args, create_engine("cpu", "fp32", channels_last=False))
        calls, d_outputs = [], trainer.d_outputs
        trainer.d_outputs = lambda x, y: calls.append(d_outputs(x, y)) or calls[-1]
        stats = trainer.train_step()
        return cfg, stats, calls[0][0].detach()  # D sees the real batch first (real and fake passed apart)

    on_cfg, on, real = first_step()
    off_cfg, off, real_off = first_step(progan_drift=0)
    heavy_cfg, heavy, _ = first_step(progan_drift=1.0)
    assert (on_cfg.progan_drift, off_cfg.progan_drift, heavy_cfg.progan_drift) == (0.001, 0.0, 1.0)
    assert torch.equal(real, real_off)  # the same weights and batch: only the loss differs
    expected = real.pow(2).mean().item()
    assert on["loss_drift"] == pytest.approx(expected) and "loss_drift" not in off
    assert heavy["loss_d"] - off["loss_d"] == pytest.approx(expected, rel=1e-4)
    assert on["loss_d"] - off["loss_d"] == pytest.approx(0.001 * expected, rel=1e-2)
