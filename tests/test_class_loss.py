"""--class-loss adc: the auxiliary classifier on D's features, its losses, checkpoints and exact resume."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

import ganaug
from ganaug.builders import build_discriminator
from ganaug.errors import GanaugError
from ganaug.training.class_loss import attach_class_head, check_class_loss, class_d_loss, class_g_loss, d2d_ce

from .helpers import TINY, run_cli, write_class_folder

OPTS = dict(TINY, teacher_epochs=0, class_loss="adc", progress=False)


@pytest.fixture()
def folder(tmp_path):
    return write_class_folder(tmp_path / "data", {"cat": 10, "dog": 4, "eel": 6})


def test_losses_reward_the_right_class_and_punish_the_fake_class():
    y = torch.tensor([0, 1])
    sure_real = torch.tensor([[5.0, -5, -5, -5], [-5, 5.0, -5, -5]])  # K=2: real class y has index y
    sure_fake = torch.tensor([[-5.0, -5, 5, -5], [-5, -5, -5, 5.0]])  # generated class y has index K + y
    assert class_g_loss(sure_real, y, 2) < class_g_loss(sure_fake, y, 2)
    assert class_d_loss(sure_real, y, sure_fake, y, 2) < class_d_loss(sure_fake, y, sure_real, y, 2)
    assert class_d_loss(sure_real, y, sure_fake, y, 2) < 0.01


@pytest.mark.parametrize("arch", ["biggan", "dcgan", "mlp"])
def test_class_head_reads_the_discriminators_features(arch):
    args = dict(latent_dim=8, num_classes=3, channels=1, height=16, width=16, ch=8)
    d = build_discriminator(arch, args)
    head = attach_class_head(d, 3)
    x = torch.randn(4, 1, 16, 16)
    assert head(d.features(x)).shape == (4, 6)
    proxy_head = attach_class_head(build_discriminator(arch, args), 3, "d2dce")
    assert proxy_head.proxy(torch.tensor([0, 2])).shape[1] == proxy_head.embed.out_features
    assert any(name.startswith("class_head.") for name in d.state_dict())
    assert torch.allclose(d(x, torch.tensor([0, 1, 2, 0])), d.head(d.features(x), torch.tensor([0, 1, 2, 0])))


def test_d2d_ce_is_the_data_to_data_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    e, p, y = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen), torch.tensor([0, 1, 0, 2, 1, 0])
    tau, m = 0.5, 0.98
    cos = torch.nn.functional.cosine_similarity
    expected = []
    for i in range(6):  # the definition, one row at a time
        a = torch.relu((m - cos(e[i], p[i], dim=0)) / tau)
        negatives = sum(torch.exp(torch.relu((cos(e[i], e[j], dim=0) + m - 1) / tau)) for j in range(6) if y[j] != y[i])
        expected.append(-torch.log(torch.exp(-a) / (torch.exp(-a) + negatives)))
    assert d2d_ce(e, p, y, tau, m).item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    proxies = torch.eye(3)  # embeddings at their class's proxy, orthogonal to the other classes: a low loss
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    good = d2d_ce(proxies[labels], proxies[labels], labels)
    wrong = d2d_ce(proxies[(labels + 1) % 3], proxies[labels], labels)
    assert good < wrong and torch.isfinite(d2d_ce(e * 1e4, p, y, temperature=1e-3))


def test_bad_class_loss_values_are_named():
    with pytest.raises(GanaugError, match="choose one of none, adc"):
        check_class_loss("acgan", 1.0)
    with pytest.raises(GanaugError, match="--class-loss-weight must be >= 0"):
        check_class_loss("adc", -1.0)


@pytest.mark.parametrize("kind", ["adc", "d2dce"])
def test_class_loss_fit_learns_the_head_and_resumes_exactly(folder, tmp_path, kind):
    opts = dict(OPTS, arch="biggan", class_loss=kind, steps=6, checkpoint_every=3, sample_every=100,
                out=tmp_path / "runs")  # fmt: skip
    whole = ganaug.fit(folder, **opts, name="whole")
    half = ganaug.fit(folder, **{**opts, "steps": 3}, name="half")
    resumed = ganaug.fit(resume=half.path, steps=6, progress=False)

    def ckpt(p):
        latest = json.loads((p / "checkpoints" / "latest.json").read_text())["path"]
        return load_file(str(p / "checkpoints" / latest / "state.safetensors"))

    a, b = ckpt(whole.path), ckpt(resumed.path)
    heads = [k for k in a if "class_head" in k]
    assert heads and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    start = ganaug.fit(folder, **{**opts, "steps": 1}, name="one")
    assert not torch.equal(ckpt(start.path)[heads[0]], a[heads[0]])  # the head is trained with D
    assert json.loads((whole.path / "fit_config.json").read_text())["fit"]["class_loss"] == kind
    if kind == "d2dce":
        assert any(k.endswith("class_head.proxy.weight") for k in heads)


def test_cli_takes_class_loss_and_refuses_unknown(folder, tmp_path):
    bad = run_cli("fit", str(folder), "--class-loss", "acgan", "--out", str(tmp_path / "runs"))
    assert bad.returncode != 0 and "acgan" in bad.stderr and "adc" in bad.stderr
    small = ["--arch", "mlp", "--ch", "8", "--batch-size", "8", "--steps", "2", "--teacher-epochs", "0", "--quiet"]
    ok = run_cli("fit", str(folder), *small, "--class-loss", "adc", "--out", str(tmp_path / "runs"), "--name", "m")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "runs" / "m" / "export" / "model.safetensors").is_file()


def test_cond_ramp_values_and_bad_input():
    from ganaug.training.class_loss import cond_scale, parse_cond_ramp

    ramp = parse_cond_ramp("0.2,0.6")
    assert [round(cond_scale(ramp, s, 11), 3) for s in range(11)] == [0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1]
    assert parse_cond_ramp("") is None and cond_scale(None, 0, 10) == 1.0
    with pytest.raises(GanaugError, match="START,END fractions"):
        parse_cond_ramp("half")
    with pytest.raises(GanaugError, match="0 <= START <= END <= 1"):
        parse_cond_ramp("0.6,0.2")


def test_gradual_conditioning_starts_unconditional_and_resumes_exactly(folder, tmp_path):
    opts = dict(OPTS, class_loss="none", arch="biggan", sample_every=100, cond_ramp="0.9,1", out=tmp_path / "runs")

    def state(run, step):
        return load_file(str(run.path / "checkpoints" / f"step-{step:07d}" / "state.safetensors"))

    whole = ganaug.fit(folder, **opts, steps=4, checkpoint_every=1, keep_checkpoints=4, name="whole")
    before, after = state(whole, 3), state(whole, 4)  # steps 1-3 unconditional (t < 0.9); step 4 conditioned
    torch.manual_seed(0)  # the trainer builds G right after seeding with --seed 0
    from ganaug.builders import build_generator

    args = json.loads((whole.path / "export" / "config.json").read_text())["arch_args"]
    init = build_generator("biggan", args).state_dict()["shared.weight"]
    assert torch.equal(before["G.shared.weight"], init)  # no class signal reached the embedding
    assert not torch.equal(after["G.shared.weight"], init)
    crash = shutil.copytree(whole.path, tmp_path / "crash")  # as if killed right after step 2's checkpoint
    for name in ("step-0000003", "step-0000004"):
        shutil.rmtree(crash / "checkpoints" / name)
    shutil.rmtree(crash / "export")
    latest = json.loads((crash / "checkpoints" / "latest.json").read_text())
    latest.update(path="step-0000002", step=2)
    (crash / "checkpoints" / "latest.json").write_text(json.dumps(latest))
    resumed = ganaug.fit(resume=crash, progress=False)
    again = load_file(str(crash / "checkpoints" / "step-0000004" / "state.safetensors"))
    assert resumed.steps_done == 4 and all(torch.equal(after[k], again[k]) for k in after)


def test_auto_measurements_choose_the_export_by_cas(folder, tmp_path):
    from ganaug.config import FitConfig
    from ganaug.training.cgan_task import resolve_measurements

    plan = ganaug.fit(folder, dry_run=True, steps=5000, out=tmp_path / "runs", progress=False)["fit"]
    assert (plan["class_loss"], plan["eval_every"], plan["eval_metric"]) == ("none", 500, "cas")
    short = ganaug.fit(folder, dry_run=True, steps=200, out=tmp_path / "runs", progress=False)["fit"]
    assert short["eval_every"] == 0  # too short a run to choose among checkpoints
    one_class = resolve_measurements(FitConfig(steps=2000), num_classes=1)
    assert (one_class.eval_metric, one_class.eval_every) == ("fid", 200)
    mine = resolve_measurements(FitConfig(eval_every=0, eval_metric="fid"), 3)
    assert (mine.eval_every, mine.eval_metric) == (0, "fid")
    with pytest.raises(GanaugError, match="eval_every=-2"):
        ganaug.fit(folder, dry_run=True, eval_every=-2, out=tmp_path / "runs", progress=False)
