"""Differentiable augmentation for the discriminator: DiffAugment (Zhao et al. 2020) ops, each applied to each
sample with probability p as in ADA (Karras et al. 2020), so an adaptive controller can tune p.

Both real and generated images go through the same random ops before D sees them; because every op is
differentiable, the generator is trained through them. All random numbers come from a CPU ``torch.Generator``
and are then moved to the images' device, so a run resumed with the generator's saved state is bit-exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import GanaugError, known

OPS = ("color", "translation", "cutout", "time")
NONE = ("", "none")
TRANSLATION_RATIO = 1 / 8  # largest shift, as a fraction of the side
CUTOUT_RATIO = 1 / 2  # side of the zeroed rectangle, as a fraction of the side


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color, translation"`` -> ``("color", "translation")``; ``"none"``/``""`` -> ``()``; unknown op -> error."""
    text = (policy or "").strip().lower()
    if text in NONE:
        return ()
    ops = tuple(op.strip() for op in text.split(",") if op.strip())
    for op in ops:
        if op not in OPS:
            raise known("augmentation op", op, [*OPS, "none"])
    return ops


class DiffAugment:
    """Apply a policy of differentiable ops, each to each sample with probability ``p``.

    Ops: ``color`` (brightness, saturation and contrast, each drawn separately; saturation only for 3 colour
    channels, and the alpha channel of RGBA is left alone), ``translation`` (integer shift of up to 1/8 of each
    side, zero fill), ``cutout`` (zero a rectangle of half each side at a random centre), ``time`` (shift of up
    to 1/8 along the last axis only, for spectrograms). Order of application is the policy's order.

    Example:
        >>> aug = DiffAugment("color,translation,cutout")
        >>> x = torch.rand(4, 3, 32, 32) * 2 - 1
        >>> aug(x, p=0.5, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 32, 32])
    """

    def __init__(self, policy: str = "color,translation,cutout"):
        self.ops = parse_policy(policy)
        self.policy = ",".join(self.ops) or "none"

    def __repr__(self) -> str:
        return f"DiffAugment({self.policy!r})"

    def __bool__(self) -> bool:
        return bool(self.ops)

    def __call__(self, x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
        """Augment a batch ``(B, C, H, W)``; ``p == 0`` (or an empty policy) returns ``x`` itself."""
        p = float(p)
        if p <= 0.0 or not self.ops:
            return x
        if x.dim() != 4:
            raise GanaugError(f"DiffAugment expects a batch of shape (B, C, H, W), got {tuple(x.shape)}")
        fmt = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
        for op in self.ops:
            x = _APPLY[op](x, min(p, 1.0), generator)
        return x.contiguous(memory_format=fmt)


def _is_channels_last(x: Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _rand(n: int, gen: torch.Generator | None, like: Tensor) -> Tensor:
    """Uniform [0, 1) per sample, drawn on the CPU, shaped (B, 1, 1, 1) on ``like``'s device and dtype."""
    return torch.rand(n, generator=gen).to(device=like.device, dtype=like.dtype).view(n, 1, 1, 1)


def _mask(n: int, p: float, gen: torch.Generator | None, device: torch.device) -> Tensor:
    """Which samples an op applies to: a bool (B,) tensor, drawn on the CPU."""
    return (torch.rand(n, generator=gen) < p).to(device)


def _where(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    return torch.where(mask.view(-1, 1, 1, 1), new, old)


def color(x: Tensor, p: float, gen: torch.Generator | None = None) -> Tensor:
    """Brightness (+U[-0.5, 0.5)), saturation (x U[0, 2)) and contrast (x U[0.5, 1.5)), each with probability p."""
    n, c = x.shape[0], x.shape[1]
    n_color = {2: 1, 4: 3}.get(c, c)  # gray+alpha, RGBA: leave alpha alone
    rgb, alpha = x[:, :n_color], x[:, n_color:]
    m, r = _mask(n, p, gen, x.device), _rand(n, gen, x)
    rgb = _where(m, rgb + (r - 0.5), rgb)
    if n_color == 3:
        m, r = _mask(n, p, gen, x.device), _rand(n, gen, x)
        mean = rgb.mean(dim=1, keepdim=True)
        rgb = _where(m, (rgb - mean) * (r * 2.0) + mean, rgb)
    m, r = _mask(n, p, gen, x.device), _rand(n, gen, x)
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = _where(m, (rgb - mean) * (r + 0.5) + mean, rgb)
    return torch.cat([rgb, alpha], dim=1) if alpha.shape[1] else rgb


def _shift(x: Tensor, ty: Tensor, tx: Tensor) -> Tensor:
    """``out[b, :, i, j] = x[b, :, i - ty[b], j - tx[b]]``, zero outside; ``ty``/``tx`` long (B,) on x's device."""
    n, _, h, w = x.shape
    padded = F.pad(x, [1, 1, 1, 1])
    rows = (torch.arange(h, device=x.device)[None, :] - ty[:, None] + 1).clamp(0, h + 1)  # 0 and h+1 are zeros
    cols = (torch.arange(w, device=x.device)[None, :] - tx[:, None] + 1).clamp(0, w + 1)
    b = torch.arange(n, device=x.device)[:, None, None]
    out = padded[b, :, rows[:, :, None], cols[:, None, :]]  # advanced indices first: (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def _shifts(n: int, side: int, p: float, gen: torch.Generator | None, device: torch.device) -> Tensor:
    m = _mask(n, p, gen, torch.device("cpu"))
    s = max(1, int(side * TRANSLATION_RATIO))
    t = torch.randint(-s, s + 1, (n,), generator=gen)
    return (t * m).to(device)


def translation(x: Tensor, p: float, gen: torch.Generator | None = None) -> Tensor:
    """Shift each sample by up to 1/8 of the height and of the width, filling with zeros."""
    n, _, h, w = x.shape
    ty = _shifts(n, h, p, gen, x.device)
    tx = _shifts(n, w, p, gen, x.device)
    return _shift(x, ty, tx)


def time_shift(x: Tensor, p: float, gen: torch.Generator | None = None) -> Tensor:
    """Shift each sample along the last axis only (time in a spectrogram) by up to 1/8 of it, filling with zeros."""
    n, w = x.shape[0], x.shape[3]
    tx = _shifts(n, w, p, gen, x.device)
    return _shift(x, torch.zeros_like(tx), tx)


def cutout(x: Tensor, p: float, gen: torch.Generator | None = None) -> Tensor:
    """Zero a rectangle of half the height and half the width at a random centre (clipped at the borders)."""
    n, _, h, w = x.shape
    m = _mask(n, p, gen, torch.device("cpu"))
    ch, cw = max(1, int(h * CUTOUT_RATIO)), max(1, int(w * CUTOUT_RATIO))
    top = torch.randint(0, h, (n,), generator=gen) - ch // 2
    left = torch.randint(0, w, (n,), generator=gen) - cw // 2
    rows, cols = torch.arange(h), torch.arange(w)
    in_rows = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + ch)  # (B, H)
    in_cols = (cols[None, :] >= left[:, None]) & (cols[None, :] < left[:, None] + cw)  # (B, W)
    hole = in_rows[:, :, None] & in_cols[:, None, :] & m[:, None, None]
    keep = (~hole).to(device=x.device, dtype=x.dtype)
    return x * keep[:, None]


_APPLY = {"color": color, "translation": translation, "cutout": cutout, "time": time_shift}
