"""CycleGAN training: networks, pool/jitter/schedule, run folder and export, exact resume, options and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

import ganaug
from ganaug.cli import main
from ganaug.errors import GanaugError
from ganaug.models.cyclegan import PatchDiscriminator, ResnetGenerator, UnetGenerator, translator_args
from ganaug.training.cyclegan import ImagePool, cycle_lr_factor, jitter

from .cyclegan_support import TINY_CG, one_thread, tiny_cyclegan, write_domain  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def gray_rgb(tmp_path):
    return write_domain(tmp_path / "A", 6, 1), write_domain(tmp_path / "B", 6, 3, seed=1)


# -- networks -----------------------------------------------------------------------------------------------
def test_patchgan_sees_70x70_patches():
    d = PatchDiscriminator(channels=1, ndf=4, layers=3)
    for i, m in enumerate(d.model):  # instance norm mixes all positions; the convolutions alone define the patch
        if isinstance(m, torch.nn.InstanceNorm2d):
            d.model[i] = torch.nn.Identity()
    x = torch.zeros(1, 1, 128, 128, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert rows.max() - rows.min() + 1 == 70


def test_resnet_default_blocks_and_any_size():
    assert translator_args("resnet", 3, 3, 256, 256, 64)["generator"]["blocks"] == 9
    assert translator_args("resnet", 3, 3, 128, 128, 64)["generator"]["blocks"] == 6
    assert translator_args("unet", 3, 3, 256, 256, 64)["generator"]["downs"] == 8
    g = ResnetGenerator(1, 3, ngf=4, blocks=1)
    assert g(torch.randn(1, 1, 3, 50)).shape == (1, 3, 3, 50)  # smaller than the padding: edge replication
    u = UnetGenerator(3, 1, ngf=4, downs=4)
    assert u(torch.randn(2, 3, 33, 17)).shape == (2, 1, 33, 17)
    assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in g.modules()) > 0
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules()) == 4


# -- training pieces ----------------------------------------------------------------------------------------
def test_pool_fills_then_swaps_half():
    pool, gen = ImagePool(4), torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first, gen), first) and pool.count == 4
    outs = torch.cat([pool.query(torch.full((1, 1, 1, 1), 100.0 + i), gen) for i in range(200)]).flatten()
    from_history = (outs < 100) | (outs != 100 + torch.arange(200.0))
    assert 0.35 < from_history.float().mean() < 0.65
    assert ImagePool(0).query(first, gen) is first
    state = pool.state("pool.a")
    fresh = ImagePool(4)
    fresh.load("pool.a", state, first[:1])
    assert fresh.count == 4 and torch.equal(fresh.images, pool.images)


def test_jitter_is_seeded_and_keeps_shape():
    x = torch.rand(3, 2, 16, 12) * 2 - 1
    a, b = jitter(x, torch.Generator().manual_seed(1)), jitter(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_lr_constant_then_linear_decay():
    factors = [cycle_lr_factor(s, 100, 0.5) for s in range(100)]
    assert (
        factors[0] == factors[50] == 1.0
        and factors[99] == pytest.approx(2 / 51)
        and factors[75] == pytest.approx(1 - 25 / 51)
    )
    assert all(f == 1.0 for f in (cycle_lr_factor(s, 10, 1.0) for s in range(10)))


# -- fit, export ---------------------------------------------------------------------------------------------
def test_fit_writes_run_and_export(tmp_path_factory):
    run = tiny_cyclegan(tmp_path_factory)
    for name in (
        "fit_config.json",
        "log.jsonl",
        "loss_curve.png",
        "samples/step-0000003.png",
        "checkpoints/latest.json",
    ):
        assert (run / name).is_file(), name
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {"loss_d", "loss_g", "cycle_l1", "identity_l1", "lr", "images_per_s"} <= set(log[-1])
    export = run / "export"
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    config = json.loads((export / "config.json").read_text())
    assert config["task"] == "cyclegan" and config["arch"] == "resnet"
    assert config["data"]["channels"] == 1 and config["data_b"]["channels"] == 3  # gray A, RGB B
    assert config["data"]["class_names"] == ["bottom", "top"] and config["data_b"]["class_names"] == []
    assert config["training"]["identity_loss"] is False and config["training"]["batch_size"] == 2
    metrics = config["metrics"]
    assert 0 <= metrics["cycle_l1_a"] <= 1 and 0 <= metrics["cycle_l1_b"] <= 1
    assert 0 <= metrics["guard_rejection_a2b"] <= 1 and config["guard"]["trained_on"] == ["a"]
    keys = {k.split(".")[0] for k in load_file(str(export / "model.safetensors"))}
    assert keys == {"a2b", "b2a", "guard"}
    card = (export / "README.md").read_text()
    assert "pipeline_tag: image-to-image" in card and "cycle_l1_a" in card and "More Information Needed" not in card
    t = ganaug.load_translator(run)
    y = t.translate(torch.zeros(2, 1, 16, 16), "a2b")
    assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1


def _checkpoint(run_path):
    latest = json.loads((run_path / "checkpoints" / "latest.json").read_text())["path"]
    return load_file(str(run_path / "checkpoints" / latest / "state.safetensors"))


def test_resume_reaches_the_same_weights(tmp_path):
    a = write_domain(tmp_path / "A", 6, 3, classes=("x", "y"))
    b = write_domain(tmp_path / "B", 5, 3, seed=2)
    opts = dict(TINY_CG, cyclegan_pool=3, checkpoint_every=3, out=tmp_path / "runs", cyclegan_guard_steps=0)
    whole = ganaug.fit([a, b], **opts, steps=6, name="whole")
    half = ganaug.fit([a, b], **opts, steps=3, name="half")
    resumed = ganaug.fit(resume=half.path, steps=6, progress=False)
    assert resumed.steps_done == 6 and resumed.path == half.path
    x, y = _checkpoint(whole.path), _checkpoint(resumed.path)
    assert x.keys() == y.keys() and {"pool.a", "pool.b"} <= set(x)
    assert [k for k in x if not torch.equal(x[k], y[k])] == []
    wa, wb = load_file(str(whole.export / "model.safetensors")), load_file(str(resumed.export / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((whole.export / "config.json").read_text())["training"]["identity_loss"] is True
    steps = [json.loads(line)["step"] for line in (half.path / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 6
    with pytest.raises(GanaugError, match="cannot change"):
        ganaug.fit(resume=half.path, cyclegan_lambda=5.0, progress=False)


@pytest.mark.parametrize(("arch", "loss"), [("unet", "lsgan"), ("resnet", "hinge"), ("resnet", "bce")])
def test_archs_and_losses_train(gray_rgb, tmp_path, arch, loss):
    opts = dict(TINY_CG, arch=arch, loss=loss, steps=2, cyclegan_jitter="off", out=tmp_path / "runs")
    run = ganaug.fit(list(gray_rgb), **opts)
    config = json.loads((run.export / "config.json").read_text())
    assert config["arch"] == arch and config["training"]["loss"] == loss and config["guard"] is None
    assert ganaug.load_translator(run.path).translate(torch.zeros(1, 3, 20, 20), "b2a").shape == (1, 1, 20, 20)


def test_dry_run_shows_the_canon(gray_rgb):
    a, b = map(str, gray_rgb)
    result = CliRunner().invoke(main, ["fit", "--task", "cyclegan", a, b, "--dry-run"])
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    fit = resolved["fit"]
    assert (fit["arch"], fit["loss"], fit["batch_size"], fit["beta1"], fit["ch"]) == ("resnet", "lsgan", 1, 0.5, 64)
    assert fit["cyclegan_jitter"] == "on" and fit["cyclegan_lambda"] == 10 and fit["cyclegan_pool"] == 50
    assert resolved["data_b"]["channels"] == 3 and resolved["data_source"] == [a, b]
    assert any("identity loss off" in n for n in resolved["notes"])
    medical = ganaug.fit([a, b], task="cyclegan", preset="medical", dry_run=True)
    assert medical["fit"]["cyclegan_jitter"] == "off"


def test_non_finite_loss_stops_without_export(gray_rgb, tmp_path):
    from ganaug.training.trainer import NonFiniteLossError

    opts = dict(TINY_CG, optimizer="sgd", lr_g=1e30, lr_d=1e30, steps=30, checkpoint_every=1, out=tmp_path / "r")
    with pytest.raises(NonFiniteLossError, match=r"non-finite at step \d+.*(last good checkpoint|no checkpoint)"):
        ganaug.fit(list(gray_rgb), **opts, name="nan")
    assert not (tmp_path / "r" / "nan" / "export").exists()


# -- bad input ----------------------------------------------------------------------------------------------
def test_one_folder_is_an_error(gray_rgb):
    a = str(gray_rgb[0])
    with pytest.raises(GanaugError, match="needs two DATA, one per domain: DATA_A DATA_B"):
        ganaug.fit(a, task="cyclegan")
    result = CliRunner().invoke(main, ["fit", "--task", "cyclegan", a])
    assert result.exit_code == 1 and "DATA_A DATA_B" in result.output and "got 1" in result.output
    result = CliRunner().invoke(main, ["fit", a, a])
    assert result.exit_code == 1 and "one DATA for the conditional task" in result.output


def test_empty_or_missing_domain(gray_rgb, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanaugError, match=r"domain B \(.*empty\): folder .* is empty"):
        ganaug.fit([gray_rgb[0], tmp_path / "empty"], task="cyclegan", dry_run=True)
    (tmp_path / "nothing" / "class").mkdir(parents=True)
    with pytest.raises(GanaugError, match=r"domain A .*is empty"):
        ganaug.fit([tmp_path / "nothing", gray_rgb[1]], task="cyclegan", dry_run=True)
    with pytest.raises(GanaugError, match=r"domain B .*does not exist"):
        ganaug.fit([gray_rgb[0], tmp_path / "missing"], task="cyclegan", dry_run=True)


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"latent_dim": 8}, "do not apply to --task cyclegan: --latent-dim"),
        ({"holdout": 0.2}, "do not apply to --task cyclegan: --holdout"),
        ({"arch": "biggan"}, "unknown translator architecture 'biggan'; known: resnet, unet"),
        ({"loss": "wgan-gp"}, "not accepted for cyclegan; choose lsgan, bce, hinge"),
        ({"cyclegan_decay_from": 2.0}, "cyclegan_decay_from=2.0 is not accepted"),
        ({"cyclegan_jitter": "maybe"}, "choose one of auto, on, off"),
    ],
)
def test_bad_options(gray_rgb, option, match):
    with pytest.raises(GanaugError, match=match):
        ganaug.fit(list(gray_rgb), task="cyclegan", dry_run=True, **option)


def test_cyclegan_refused_by_sample_and_cgan_refused_by_translate(tmp_path_factory, tiny_run):
    run = tiny_cyclegan(tmp_path_factory)
    with pytest.raises(GanaugError, match="'cyclegan' model, not a class-conditional generator.*ganaug translate"):
        ganaug.load_generator(run)
    result = CliRunner().invoke(main, ["sample", str(run), "--class", "0", "--out", str(tmp_path_factory.mktemp("s"))])
    assert result.exit_code == 1 and "cannot sample classes" in result.output
    with pytest.raises(GanaugError, match="holds a 'cgan' model .*not a CycleGAN.*--task cyclegan"):
        ganaug.load_translator(tiny_run)


def test_cli_torchrun_two_processes(tmp_path):
    """`ganaug fit --task cyclegan` under torchrun (gloo on the CPU): gradients averaged, rank 0 writes."""
    a, b = write_domain(tmp_path / "A", 4, 1), write_domain(tmp_path / "B", 4, 3, seed=1)
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "ganaug", "fit", "--task", "cyclegan"]
    cmd += [str(a), str(b), "--ch", "4", "--cyclegan-blocks", "1", "--batch-size", "2", "--steps", "3", "--quiet"]
    cmd += ["--device", "cpu", "--out", str(tmp_path / "runs"), "--name", "ddp"]
    env = {
        **os.environ,
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash shows its stack
        "TMPDIR": str(tmp_path),  # torchrun's own folders (torchelastic_*) stay in the test's folder
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-12000:]
    config = json.loads((tmp_path / "runs" / "ddp" / "export" / "config.json").read_text())
    assert config["task"] == "cyclegan" and config["training"]["processes"] == 2
    assert config["training"]["command"].startswith("ganaug fit --task cyclegan")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["ddp"]
    assert proc.stdout.count("model:") == 1 and proc.stdout.strip().splitlines()[-1] == str(tmp_path / "runs" / "ddp")
