"""InfoGAN latent codes (--info-codes): specs, networks, the MI loss, exact resume, export, sampling, CLI, bad input."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import ganaug
from ganaug.builders import build_discriminator, build_generator
from ganaug.errors import GanaugError
from ganaug.models.info import check_values, code_dim, draw_codes, format_codes, parse_codes
from ganaug.models.layers import pool_features
from ganaug.training.checkpoint import load_module
from ganaug.training.info_codes import InfoHead, attach_info_head, info_accuracy, info_loss

from .helpers import TINY, run_cli, write_class_folder

CODES = "cont:1,cat:3"  # canonical: cat:3,cont:1 -> c0 (3 values), u0
OPTS = dict(TINY, info_codes=CODES, sample_every=100, progress=False)


@pytest.fixture(scope="module")
def coded_run(tmp_path_factory):
    """A tiny 2-class dcgan fitted with a categorical and a continuous code."""
    root = tmp_path_factory.mktemp("info")
    folder = write_class_folder(root / "data", {"a": 6, "b": 6})
    return ganaug.fit(folder, **OPTS, steps=4, out=root / "runs", name="coded")


def _ckpt(path):
    latest = json.loads((path / "checkpoints" / "latest.json").read_text())["path"]
    return load_file(str(path / "checkpoints" / latest / "state.safetensors"))


def test_specs_parse_name_and_draw_codes():
    specs = parse_codes(CODES)
    assert [(s.name, s.kind, s.size) for s in specs] == [("c0", "categorical", 3), ("u0", "continuous", 1)]
    assert format_codes(specs) == "cat:3,cont:1" and code_dim(specs) == 4 and parse_codes("") == []
    gen = torch.Generator().manual_seed(0)
    c = draw_codes(500, specs, gen)
    assert torch.equal(c[:, :3].sum(1), torch.ones(500)) and c[:, 3].min() >= -1 and c[:, 3].max() <= 1
    swept = draw_codes(200, specs, torch.Generator().manual_seed(0), sweep=True)[:, 3]
    assert set(torch.round(swept * 4).tolist()) == {-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0}  # 9 steps
    for bad in ("cat:1", "cat:x", "cont:0", "gauss:2", "cat:10,,cont:2"):
        with pytest.raises(GanaugError, match="cat:K"):
            parse_codes(bad)


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "biggan"])
def test_every_architecture_takes_codes_and_is_unchanged_without(arch):
    args = dict(latent_dim=8, num_classes=2, channels=1, height=16, width=16, ch=8)
    torch.manual_seed(0)
    plain = build_generator(arch, args)
    assert "info_codes" not in plain.arch_args and plain.code_dim == 0
    torch.manual_seed(0)
    again = build_generator(arch, {**args, "info_codes": ""})
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in plain.state_dict().items())
    coded = build_generator(arch, {**args, "info_codes": "cont:2,cat:4"})
    assert coded.arch_args["info_codes"] == "cat:4,cont:2" and coded.code_dim == 6
    assert coded(torch.randn(3, 8 + 6), torch.tensor([0, 1, 1])).shape == (3, 1, 16, 16)
    d = build_discriminator(arch, {**args, "info_codes": "cat:4,cont:2"})
    before = {k: v.clone() for k, v in d.state_dict().items()}
    head = attach_info_head(d, parse_codes("cat:4,cont:2"), (1, 16, 16))
    assert all(torch.equal(v, d.state_dict()[k]) for k, v in before.items())  # sizing Q touched no BN statistic
    assert head(d.feature_map(torch.randn(3, 1, 16, 16))).shape == (3, 6)
    d.eval()  # spectral norm's power iteration runs on every forward in training mode
    assert torch.equal(d.features(x := torch.randn(2, 1, 16, 16)), pool_features(d.feature_map(x)))
    assert any(k.startswith("info_head.") for k in d.state_dict())


def test_q_reads_where_things_are():
    """A stroke on the left and the same stroke on the right pool to one vector; Q tells them apart."""
    left, right = torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 8)
    left[..., 2, 1], right[..., 2, 6] = 1.0, 1.0
    assert torch.equal(pool_features(left), pool_features(right))
    torch.manual_seed(0)
    q = InfoHead(4, 3, grid=(4, 4))
    assert not torch.allclose(q(left), q(right))


def test_a_checkpoint_with_the_earlier_linear_q_is_refused_clearly():
    args = dict(latent_dim=8, num_classes=1, channels=1, height=16, width=16, ch=8, info_codes="cat:4")
    d = build_discriminator("dcgan", args)
    attach_info_head(d, parse_codes("cat:4"), (1, 16, 16))
    old = {f"D.{k}": v for k, v in d.state_dict().items() if not k.startswith("info_head.")}
    old.update({"D.info_head.weight": torch.zeros(4, 64), "D.info_head.bias": torch.zeros(4)})
    with pytest.raises(GanaugError, match=r"D does not match .*info_head\.weight.*--init-from"):
        load_module("D", d, old)


def test_info_loss_rewards_the_right_codes():
    specs = parse_codes("cat:2,cont:1")
    codes = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    right = torch.tensor([[5.0, -5.0, 0.5], [-5.0, 5.0, -0.5]])
    wrong = torch.tensor([[-5.0, 5.0, -0.5], [5.0, -5.0, 0.5]])
    assert info_loss(right, codes, specs) < 0.01 < info_loss(wrong, codes, specs)
    assert info_accuracy(right, codes, specs) == 1.0 and info_accuracy(wrong, codes, specs) == 0.0


def test_fit_exports_codes_and_samples_follow_them(coded_run):
    config = json.loads((coded_run.export / "config.json").read_text())
    assert config["arch_args"]["info_codes"] == "cat:3,cont:1" and config["training"]["info_weight"] == 1.0
    assert config["codes"] == [
        {"name": "c0", "kind": "categorical", "values": 3},
        {"name": "u0", "kind": "continuous", "range": [-1.0, 1.0]},
    ]
    for name in ("traversal-c0.png", "traversal-u0.png"):
        assert (coded_run.export / name).is_file()
    card = (coded_run.export / "README.md").read_text()
    assert "## Latent codes" in card and "(traversal-u0.png)" in card and "--code u0=0.5" in card
    log = [json.loads(line) for line in (coded_run.path / "log.jsonl").read_text().splitlines()]
    assert all("loss_info" in r for r in log)
    g = ganaug.load_generator(coded_run.path)
    assert [c.name for c in g.codes] == ["c0", "u0"]
    a = g.sample("a", 4, seed=1, codes={"c0": 0, "u0": 0.5})
    assert torch.equal(a, g.sample("a", 4, seed=1, codes={"c0": 0, "u0": 0.5}))  # same seed and codes: same samples
    assert not torch.allclose(a, g.sample("a", 4, seed=1, codes={"c0": 2, "u0": 0.5}))  # the categorical code acts
    assert not torch.allclose(a, g.sample("a", 4, seed=1, codes={"c0": 0, "u0": -1.0}))
    images, ncol, rows = g.traversal("u0")
    assert images.shape == (2 * 9, 1, 8, 8) and ncol == 9 and rows == ["a", "b"]
    swept = ganaug.GANAugment(coded_run.path, p=1.0, seed=0, codes="sweep")
    x, y = swept(torch.zeros(1, 8, 8, dtype=torch.uint8), 1)
    assert x.shape == (1, 8, 8) and y == 1 and swept.codes == "sweep"
    fixed = ganaug.GANAugment(coded_run.path, p=1.0, seed=0, codes={"c0": 1})
    assert fixed.sampler.codes == {"c0": 1.0}


def test_resume_is_bit_exact_with_codes(tmp_path):
    folder = write_class_folder(tmp_path / "data", {"a": 6, "b": 6})
    opts = dict(OPTS, arch="biggan", steps=6, checkpoint_every=3, out=tmp_path / "runs")
    whole = ganaug.fit(folder, **opts, name="whole")
    half = ganaug.fit(folder, **{**opts, "steps": 3}, name="half")
    resumed = ganaug.fit(resume=half.path, steps=6, progress=False)
    a, b = _ckpt(whole.path), _ckpt(resumed.path)
    assert any(k.startswith("D.info_head.") for k in a) and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    wa, wb = load_file(str(whole.export / "model.safetensors")), load_file(str(resumed.export / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(GanaugError, match="info_codes"):
        ganaug.fit(resume=half.path, info_codes="cat:4", progress=False)


def test_mutual_information_is_learned_on_single_class_data(tmp_path):
    """Unconditional (one class): Q learns to read the categorical code back from the samples."""
    folder = write_class_folder(tmp_path / "data", {"only": 16}, seed=3)
    opts = dict(TINY, batch_size=32, info_codes="cat:4,cont:1", log_every=1, progress=False)
    run = ganaug.fit(folder, **opts, steps=100, out=tmp_path / "runs", name="mi")
    log = [json.loads(line)["loss_info"] for line in (run.path / "log.jsonl").read_text().splitlines()]
    first, last = sum(log[:10]) / 10, sum(log[-10:]) / 10
    assert last < 0.5 * first, (first, last)  # starts near log(4) + 1/6
    g = ganaug.load_generator(run.path)
    _, _, rows = g.traversal("u0")
    assert rows == ["c0=0", "c0=1", "c0=2", "c0=3"]  # one row per value of the categorical code


def test_bad_code_values_are_named(coded_run, tiny_gray_run):
    g = ganaug.load_generator(coded_run.path)
    with pytest.raises(GanaugError, match=r"c0=5 is out of range; it takes an integer from 0 to 2"):
        g.sample("a", 1, codes={"c0": 5})
    with pytest.raises(GanaugError, match=r"u0=1.5 is out of range; it takes a number from -1 to 1"):
        g.sample("a", 1, codes={"u0": 1.5})
    with pytest.raises(GanaugError, match=r"unknown code 'z9'; this model's codes: c0 \(.*\), u0"):
        g.sample("a", 1, codes={"z9": 0})
    with pytest.raises(GanaugError, match="codes='wild' is not accepted"):
        g.sample("a", 1, codes="wild")
    plain = ganaug.load_generator(tiny_gray_run)
    with pytest.raises(GanaugError, match="this model has no latent codes"):
        plain.sample("a", 1, codes={"c0": 1})
    with pytest.raises(GanaugError, match="this model has no latent codes"):
        ganaug.GANAugment(tiny_gray_run, codes="sweep")
    assert check_values(parse_codes("cat:3"), {"c0": "2"}) == {"c0": 2.0}  # text from the command line
    with pytest.raises(GanaugError, match="--info-weight must be >= 0"):
        ganaug.fit(tiny_gray_run, info_codes="cat:2", info_weight=-1.0, dry_run=True)
    with pytest.raises(GanaugError, match="'cat:1' is not accepted"):
        ganaug.fit(tiny_gray_run, info_codes="cat:1", dry_run=True)


def test_cli_sample_with_codes_and_clear_errors(coded_run, tiny_gray_run, tmp_path):
    from click.testing import CliRunner

    from ganaug.cli import main

    out = tmp_path / "grid.png"
    ok = run_cli("sample", str(coded_run.path), "--class", "b", "--n", "4", "--code", "c0=2", "--code", "u0=-0.5",
                 "--out", str(out))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert out.is_file()
    cli = CliRunner()
    bad = cli.invoke(main, ["sample", str(coded_run.path), "--class", "b", "--code", "u0=3", "--out", str(out)])
    assert bad.exit_code == 1 and "u0=3 is out of range" in bad.output and "from -1 to 1" in bad.output
    shape = cli.invoke(main, ["sample", str(coded_run.path), "--class", "b", "--code", "u0", "--out", str(out)])
    assert shape.exit_code == 1 and "give NAME=VALUE" in shape.output
    none = cli.invoke(main, ["sample", str(tiny_gray_run), "--class", "a", "--code", "c0=1", "--out", str(out)])
    assert none.exit_code == 1 and "no latent codes" in none.output and none.exc_info[0] is SystemExit
    info = cli.invoke(main, ["info", str(coded_run.path)])
    assert info.exit_code == 0 and "latent codes: c0 (an integer from 0 to 2), u0" in info.output
    listing = cli.invoke(main, ["info"])
    assert "--info-codes cat:K,cont:N" in listing.output


def test_report_shows_a_traversal_per_code(coded_run):
    from ganaug.report import build_report

    page = build_report(coded_run.path).read_text()
    assert 'id="codes"' in page and "code u0 (continuous), -1 to 1; rows: a, b" in page
    assert "code c0 (categorical), values 0 to 2" in page
