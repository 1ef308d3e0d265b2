"""Architectures: shapes, ranges, conditioning, rebuild from arch_args, eval with batch 1, gradients.

Parameter counts at 32x32x3, latent_dim=128, 10 classes, default widths (see test_default_sizes):
    mlp     ch=256  G 3.86 M  D 3.81 M
    dcgan   ch=40   G 2.06 M (deconv) / 3.41 M (pixelshuffle)  D 0.72 M
    biggan  ch=32   G 1.41 M  D 1.22 M
"""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn.utils import parametrize

from ganaug.builders import ARCHS, LOSSES, build_discriminator, build_generator
from ganaug.errors import GanaugError
from ganaug.models import count_parameters, plan_resolution

# (arch, extra arch_args)
ARCH_CONFIGS = [
    ("mlp", {}),
    ("dcgan", {"upsample": "deconv"}),
    ("dcgan", {"upsample": "pixelshuffle"}),
    ("biggan", {}),
]
ARCH_IDS = ["mlp", "dcgan-deconv", "dcgan-ps", "biggan"]
SIZES = [(8, 8), (28, 28), (32, 32), (64, 64), (64, 32), (30, 30)]


def make(arch: str, extra: dict, channels=3, height=32, width=32, num_classes=5, ch=8, latent_dim=16):
    args = dict(latent_dim=latent_dim, num_classes=num_classes, channels=channels, height=height, width=width, ch=ch)
    args.update(extra)
    return build_generator(arch, args), build_discriminator(arch, args)


def _inputs(g, batch=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, g.latent_dim, generator=gen)
    y = torch.arange(batch) % g.num_classes
    return z, y


@pytest.mark.parametrize(
    "hw, expected",
    [((28, 28), (7, 7, 2)), ((32, 32), (4, 4, 3)), ((8, 8), (4, 4, 1)), ((64, 32), (8, 4, 3))]
    + [((30, 30), (15, 15, 1)), ((128, 128), (4, 4, 5)), ((9, 9), (9, 9, 0)), ((96, 64), (6, 4, 4))],
)
def test_plan_resolution(hw, expected):
    assert plan_resolution(*hw) == expected


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("arch, extra", ARCH_CONFIGS, ids=ARCH_IDS)
def test_shapes_and_range(arch, extra, size):
    h, w = size
    channels, num_classes = (1, 5) if h % 3 else (3, 1)
    g, d = make(arch, extra, channels=channels, height=h, width=w, num_classes=num_classes)
    z, y = _inputs(g)
    x = g(z, y)
    assert x.shape == (3, channels, h, w)
    assert torch.isfinite(x).all() and x.abs().max() <= 1.0
    out = d(x, y)
    assert out.shape == (3,) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("num_classes", [1, 5])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("arch, extra", ARCH_CONFIGS, ids=ARCH_IDS)
def test_channels_and_classes(arch, extra, channels, num_classes):
    g, d = make(arch, extra, channels=channels, height=16, width=16, num_classes=num_classes)
    assert (g.latent_dim, g.num_classes) == (16, num_classes)
    z, y = _inputs(g, batch=4)
    x = g(z, y)
    assert x.shape == (4, channels, 16, 16)
    assert d(x, y).shape == (4,)


@pytest.mark.parametrize("arch, extra", ARCH_CONFIGS, ids=ARCH_IDS)
def test_rebuild_from_arch_args_is_identical(arch, extra):
    g, d = make(arch, extra, height=28, width=28)
    z, y = _inputs(g, batch=4)
    x = torch.randn(4, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    g(z, y), d(x, y)  # a train-mode pass moves BN statistics and SN vectors away from their init
    g.eval(), d.eval()
    args = json.loads(json.dumps(g.arch_args))  # what config.json holds
    assert args == d.arch_args and args["ch"] == 8 and args.get("upsample") == extra.get("upsample")
    g2, d2 = build_generator(arch, args).eval(), build_discriminator(arch, args).eval()
    g2.load_state_dict(g.state_dict(), strict=True)
    d2.load_state_dict(d.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(g2(z, y), g(z, y))
        assert torch.equal(d2(x, y), d(x, y))


@pytest.mark.parametrize("arch, extra", ARCH_CONFIGS, ids=ARCH_IDS)
def test_generator_eval_batch_of_one(arch, extra):
    g, _ = make(arch, extra, channels=1, height=28, width=28)
    g(*_inputs(g, batch=8))  # train-mode pass to set BN statistics
    g.eval()
    z, y = _inputs(g, batch=4, seed=3)
    with torch.no_grad():
        one = g(z[:1], y[:1])
        four = g(z, y)
    assert one.shape == (1, 1, 28, 28)
    torch.testing.assert_close(one, four[:1], atol=1e-5, rtol=1e-4)  # eval mode: no batch dependence


@pytest.mark.parametrize("arch, extra", ARCH_CONFIGS, ids=ARCH_IDS)
def test_gradients_reach_all_parameters(arch, extra):
    g, d = make(arch, extra, height=16, width=16)
    z = torch.randn(10, g.latent_dim)
    y = torch.arange(10) % 5  # every class, so every embedding row gets a gradient
    (d(g(z, y), y).sum() + d(torch.randn(10, 3, 16, 16), y).sum()).backward()
    for net in (g, d):
        for name, p in net.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_biggan_spectral_norm_everywhere():
    g, d = make("biggan", {})
    for net in (g, d):
        layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)


def test_registry_defaults_and_default_sizes():
    expected = {"mlp": ("bce", 0.5), "dcgan": ("bce", 0.5), "biggan": ("hinge", 0.0)}
    for name, (loss, beta1) in expected.items():
        defaults = ARCHS.get(name).defaults
        assert (defaults["loss"], defaults["beta1"]) == (loss, beta1) and defaults["ch"] > 0
        assert loss in LOSSES.names()
    base = dict(latent_dim=128, num_classes=10, channels=3, height=32, width=32)
    for arch, extra in ARCH_CONFIGS:
        g = build_generator(arch, {**base, **extra})
        assert g.arch_args["ch"] == ARCHS.get(arch).defaults["ch"]
        assert 1e6 <= count_parameters(g) <= 4e6, (arch, extra, count_parameters(g))


def test_bad_arguments():
    with pytest.raises(GanaugError, match="upsample"):
        make("dcgan", {"upsample": "bilinear"})
    with pytest.raises(GanaugError, match="height"):
        make("biggan", {}, height=2)
    with pytest.raises(GanaugError, match="num_classes"):
        make("mlp", {}, num_classes=0)
    g, _ = make("mlp", {})
    with pytest.raises(GanaugError, match="labels"):
        g(torch.randn(3, 16), torch.tensor([0, 1]))


def _toy_data(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 gray images: class 0 has a bright top half, class 1 a bright bottom half."""
    y = torch.arange(n) % 2
    x = torch.full((n, 1, 8, 8), -0.8)
    x[y == 0, :, :4] = 0.8
    x[y == 1, :, 4:] = 0.8
    return (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(-1, 1), y


def test_conditional_gan_learns_the_classes():
    from ganaug.training.losses import BCELoss

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    g, d = make("mlp", {}, channels=1, height=8, width=8, num_classes=2, ch=32)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    loss = BCELoss()
    data, labels = _toy_data(256, gen)
    for _ in range(200):
        idx = torch.randint(0, 256, (64,), generator=gen)
        real, y = data[idx], labels[idx]
        z = torch.randn(64, g.latent_dim, generator=gen)
        fake = g(z, y)
        opt_d.zero_grad()
        loss.d_loss(d(real, y), d(fake.detach(), y)).backward()
        opt_d.step()
        opt_g.zero_grad()
        loss.g_loss(d(fake, y)).backward()
        opt_g.step()
    g.eval()
    means = [data[labels == c].mean(0) for c in (0, 1)]
    with torch.no_grad():
        for c in (0, 1):
            samples = g(torch.randn(100, g.latent_dim, generator=gen), torch.full((100,), c))
            own = (samples - means[c]).flatten(1).norm(dim=1)
            other = (samples - means[1 - c]).flatten(1).norm(dim=1)
            assert (own < other).float().mean() > 0.9, c
