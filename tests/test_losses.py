"""GAN losses against hand computations, and the gradient / R1 penalties."""

from __future__ import annotations

import math

import pytest
import torch

from ganaug.builders import LOSSES
from ganaug.errors import GanaugError
from ganaug.training.losses import gradient_penalty, r1_penalty

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def loss(name: str):
    return LOSSES.get(name).cls()


def _sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def test_names_and_attributes():
    assert LOSSES.names() == ["bce", "hinge", "lsgan", "wgan-clip", "wgan-gp"]
    table = {  # name: (d_steps, gradient_penalty, weight_clip)
        "bce": (1, False, False),
        "hinge": (1, False, False),
        "lsgan": (1, False, False),
        "wgan-gp": (5, True, False),
        "wgan-clip": (5, False, True),
    }
    for name, attrs in table.items():
        cls = LOSSES.get(name).cls
        assert (cls.d_steps, cls.gradient_penalty, cls.weight_clip) == attrs
        assert LOSSES.get(name).description
    with pytest.raises(GanaugError, match="known: bce, hinge"):
        LOSSES.get("wgan")


def test_bce_formula():
    d = -_mean(math.log(_sig(r)) for r in REAL.tolist()) - _mean(math.log(1 - _sig(f)) for f in FAKE.tolist())
    g = -_mean(math.log(_sig(f)) for f in FAKE.tolist())
    assert loss("bce").d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss("bce").g_loss(FAKE).item() == pytest.approx(g, rel=1e-6)


def test_bce_is_stable_for_large_logits():
    big = torch.tensor([200.0, -200.0], requires_grad=True)
    d = loss("bce").d_loss(big, -big)
    g = loss("bce").g_loss(big)
    assert torch.isfinite(d) and torch.isfinite(g)
    assert d.item() == pytest.approx(200.0, rel=1e-6)  # mean(softplus(-200), softplus(200)) twice
    (d + g).backward()
    assert torch.isfinite(big.grad).all()


def test_hinge_formula():
    d = _mean(max(0.0, 1 - r) for r in REAL.tolist()) + _mean(max(0.0, 1 + f) for f in FAKE.tolist())
    assert loss("hinge").d_loss(REAL, FAKE).item() == pytest.approx(d)  # (0 + 2 + 0.5)/3 + (0 + 1 + 2.5)/3
    assert loss("hinge").g_loss(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()))


def test_lsgan_formula():
    d = 0.5 * _mean((r - 1) ** 2 for r in REAL.tolist()) + 0.5 * _mean(f**2 for f in FAKE.tolist())
    g = 0.5 * _mean((f - 1) ** 2 for f in FAKE.tolist())
    assert loss("lsgan").d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss("lsgan").g_loss(FAKE).item() == pytest.approx(g)


@pytest.mark.parametrize("name", ["wgan-gp", "wgan-clip"])
def test_wasserstein_formula(name):
    assert loss(name).d_loss(REAL, FAKE).item() == pytest.approx(_mean(FAKE.tolist()) - _mean(REAL.tolist()))
    assert loss(name).g_loss(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()))


@pytest.mark.parametrize("name", ["bce", "hinge", "lsgan", "wgan-gp", "wgan-clip"])
def test_losses_are_float32_scalars_for_half_logits(name):
    out = loss(name).d_loss(REAL.bfloat16(), FAKE.bfloat16())
    assert out.dim() == 0 and out.dtype == torch.float32
    assert loss(name).g_loss(FAKE.half()).dtype == torch.float32


class Linear(torch.nn.Module):
    """D(x, y) = <w, x>: its input gradient is w everywhere, so both penalties have closed forms."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x, y):
        return (x * self.w).flatten(1).sum(1)


def _images(seed: int, n: int = 4) -> torch.Tensor:
    return torch.randn(n, 1, 3, 3, generator=torch.Generator().manual_seed(seed))


def test_gradient_penalty_closed_form():
    real, fake, y = _images(0), _images(1), torch.zeros(4, dtype=torch.long)
    w = torch.randn(1, 3, 3)
    unit = Linear(w / w.norm())
    assert gradient_penalty(unit, real, fake, y).item() == pytest.approx(0.0, abs=1e-10)
    triple = Linear(3 * w / w.norm())
    assert gradient_penalty(triple, real, fake, y).item() == pytest.approx(4.0)  # (3 - 1)^2
    zero = Linear(torch.zeros(1, 3, 3))
    gp = gradient_penalty(zero, real, fake, y)
    assert gp.item() == pytest.approx(1.0)  # (0 - 1)^2
    gp.backward()
    assert torch.isfinite(zero.w.grad).all()  # no NaN from the norm's gradient at 0
    const = lambda x, y: torch.ones(x.shape[0])  # noqa: E731  - ignores its input entirely
    assert gradient_penalty(const, real, fake, y).item() == pytest.approx(1.0)


def test_gradient_penalty_backprops_into_d_and_is_seeded():
    real, fake, y = _images(0), _images(1), torch.zeros(4, dtype=torch.long)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    D = lambda x, y: net(x).squeeze(1)  # noqa: E731
    a = gradient_penalty(D, real, fake, y, generator=torch.Generator().manual_seed(5))
    b = gradient_penalty(D, real, fake, y, generator=torch.Generator().manual_seed(5))
    assert a.item() >= 0 and torch.equal(a, b)
    a.backward()
    # every weight gets a gradient (the output bias cannot: it does not change grad_x D)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters() if p.dim() > 1)
    # interpolates are computed from detached images: no gradient flows back into the generator's output
    fake_g = fake.clone().requires_grad_(True)
    gradient_penalty(D, real, fake_g, y).backward()
    assert fake_g.grad is None


def test_r1_closed_form_and_zero_cases():
    w = torch.randn(1, 3, 3)
    x = _images(2).requires_grad_(True)
    logits = Linear(w)(x, None)
    assert r1_penalty(logits, x).item() == pytest.approx(0.5 * w.pow(2).sum().item(), rel=1e-6)
    x = _images(2).requires_grad_(True)
    assert r1_penalty(x.flatten(1).sum(1) * 0.0, x).item() == 0.0  # depends on x with zero gradient
    assert r1_penalty(torch.ones(4, requires_grad=True) * 2, x).item() == 0.0  # does not depend on x
    assert r1_penalty(torch.ones(4), x).item() == 0.0  # no graph at all
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(torch.ones(4), _images(2))


def test_r1_is_nonnegative_and_backprops():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = _images(3).requires_grad_(True)
    r1 = r1_penalty(net(x).squeeze(1), x)
    assert r1.item() > 0
    r1.backward()
    # every weight gets a gradient (the output bias cannot: it does not change grad_x D)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters() if p.dim() > 1)
