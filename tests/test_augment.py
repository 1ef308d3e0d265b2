"""DiffAugment: identity at p=0, per-sample application, gradients, seeding, the time axis, errors."""

from __future__ import annotations

import pytest
import torch

from ganaug.errors import GanaugError
from ganaug.training.augment import OPS, DiffAugment, parse_policy


def images(n: int = 8, c: int = 3, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference shift of one (C, H, W) image with zero fill: out[i, j] = x[i - dy, j - dx]."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def test_parse_policy():
    assert parse_policy("Color, translation ,cutout") == ("color", "translation", "cutout")
    assert parse_policy("none") == parse_policy("") == parse_policy(None) == ()
    assert DiffAugment("time").policy == "time" and DiffAugment("none").policy == "none"


def test_unknown_op_lists_accepted_ones():
    with pytest.raises(GanaugError, match="unknown augmentation op 'flip'; known: .*color.*cutout.*time.*translation"):
        DiffAugment("color,flip")


@pytest.mark.parametrize("policy", ["color,translation,cutout", "time", "none", ""])
def test_p_zero_and_empty_policy_return_input(policy):
    x = images()
    assert DiffAugment(policy)(x, 0.0, seeded()) is x
    if not parse_policy(policy):
        assert DiffAugment(policy)(x, 1.0, seeded()) is x


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("op", OPS)
def test_p_one_changes_every_sample_and_keeps_shape(op, channels):
    x = images(n=16, c=channels)
    out = DiffAugment(op)(x, 1.0, seeded())
    assert out.shape == x.shape and out.dtype == x.dtype
    changed = (out != x).flatten(1).any(1)
    # shifts of 0 are possible for translation/time (1 in 5 per axis for a 16-pixel side); the rest always change
    assert changed.float().mean() >= (0.5 if op in ("translation", "time") else 1.0)


def test_per_sample_probability():
    x = images(n=400, h=8, w=8)
    changed = (DiffAugment("cutout")(x, 0.3, seeded()) != x).flatten(1).any(1).float().mean().item()
    assert 0.2 < changed < 0.4
    unchanged = (DiffAugment("color")(x, 0.3, seeded()) == x).flatten(1).all(1).float().mean().item()
    assert 0.25 < unchanged < 0.45  # 0.7 ** 3: brightness, saturation and contrast drawn separately


@pytest.mark.parametrize("policy", [*OPS, "color,translation,cutout"])
def test_gradients_flow(policy):
    x = images().requires_grad_(True)
    DiffAugment(policy)(x, 1.0, seeded()).pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_same_seed_same_output_different_seed_differs():
    aug = DiffAugment("color,translation,cutout")
    x = images()
    a, b, c = aug(x, 0.7, seeded(3)), aug(x, 0.7, seeded(3)), aug(x, 0.7, seeded(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_uses_only_the_given_generator():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    DiffAugment("color,translation,cutout,time")(images(), 0.5, seeded())
    assert torch.equal(before, torch.get_rng_state())


def test_translation_is_a_zero_filled_shift_of_at_most_an_eighth():
    x = images(n=32, h=16, w=24)
    out = DiffAugment("translation")(x, 1.0, seeded())
    for xi, oi in zip(x, out, strict=True):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-3, 4) if torch.equal(oi, shifted(xi, dy, dx))]
        assert matches, "not a shift of up to 1/8 of each side"


def test_time_only_shifts_the_last_axis():
    x = images(n=32, c=1, h=16, w=32)
    out = DiffAugment("time")(x, 1.0, seeded())
    seen = set()
    for xi, oi in zip(x, out, strict=True):
        matches = [dx for dx in range(-4, 5) if torch.equal(oi, shifted(xi, 0, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 3  # shifts vary per sample


def test_cutout_zeroes_a_rectangle_of_half_the_sides():
    x = images(n=32, h=16, w=16) * 0.5 + 0.75  # no zeros in the input
    out = DiffAugment("cutout")(x, 1.0, seeded())
    zeros = (out == 0).all(1)  # (B, H, W), same hole in every channel
    for z in zeros:
        rows, cols = z.any(1).nonzero().flatten(), z.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8
        assert z.sum() == len(rows) * len(cols)  # a rectangle
    assert (zeros.flatten(1).sum(1) == 64).any()  # an unclipped 8x8 hole occurs


def test_color_leaves_alpha_and_handles_gray():
    x = images(c=4)
    out = DiffAugment("color")(x, 1.0, seeded())
    assert torch.equal(out[:, 3], x[:, 3]) and not torch.equal(out[:, :3], x[:, :3])
    gray = images(c=1)
    g = DiffAugment("color")(gray, 1.0, seeded())
    # brightness then contrast around the mean: still an affine map of each image
    for xi, oi in zip(gray.flatten(1), g.flatten(1), strict=True):
        scale = (oi - oi.mean()).norm() / (xi - xi.mean()).norm()
        torch.testing.assert_close(oi - oi.mean(), scale * (xi - xi.mean()), atol=1e-5, rtol=1e-4)


def test_channels_last_is_kept():
    x = images().contiguous(memory_format=torch.channels_last)
    out = DiffAugment("color,translation,cutout")(x, 1.0, seeded())
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert DiffAugment("translation")(images(), 1.0, seeded()).is_contiguous()


def test_rejects_non_batches():
    with pytest.raises(GanaugError, match=r"\(B, C, H, W\)"):
        DiffAugment("color")(torch.zeros(3, 8, 8), 0.5)
