"""``biggan`` (the default): a small BigGAN (Brock et al. 2019) for small labelled datasets.

Generator: ``z`` -> SN-linear to a ``base_h x base_w`` map -> residual up blocks (class-conditional BN, ReLU,
nearest 2x upsample, SN conv3x3 x2, SN conv1x1 shortcut) -> BN, ReLU, SN conv3x3 -> Tanh. Every conditional BN
takes its gain and bias from ``cat(shared_embed(y), z)`` (shared class embedding, as in BigGAN-deep).
Discriminator: residual down blocks (SN conv3x3 x2, 2x2 average pool; the first block without pre-activation),
one block at the base size, ReLU, global sum pooling, SN projection head. Spectral norm on every conv and
linear of both networks; orthogonal init before spectral norm (BigGAN-PyTorch's ``'ortho'``).

Widths: generator ``ch * min(8, 2**k)`` from wide to narrow, discriminator the mirror. Default ``ch = 32``: at
32x32x3 (``latent_dim=128``, 10 classes) the generator has about 1.4 M parameters and the discriminator about
1.2 M (``ch=64``: 4.1 M / 4.9 M); one G+D pass of a batch of 64 takes about 0.5 s on 2 CPU cores.
Training defaults: ``hinge`` loss, Adam beta1 0.0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..builders import register_arch
from ..exported import records_arch_args
from .layers import (
    ConditionalBatchNorm2d,
    ProjectionHead,
    as_labels,
    gan_arch_args,
    input_codes_dim,
    level_widths,
    plan_resolution,
    pool_features,
    sn,
)

DEFAULT_CH = 32
SHARED_DIM = 64
CAP = 8


class GBlock(nn.Module):
    """Residual up block: ``x + F(x)`` with CBN-ReLU-(up)-conv-CBN-ReLU-conv and a 1x1 shortcut."""

    def __init__(self, cin: int, cout: int, cond_dim: int, upsample: bool = True):
        super().__init__()
        self.upsample = upsample
        self.bn1 = ConditionalBatchNorm2d(cin, cond_dim)
        self.conv1 = sn(nn.Conv2d(cin, cout, 3, 1, 1))
        self.bn2 = ConditionalBatchNorm2d(cout, cond_dim)
        self.conv2 = sn(nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = sn(nn.Conv2d(cin, cout, 1)) if cin != cout or upsample else None

    def _up(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest") if self.upsample else x

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        h = self.conv1(self._up(F.relu(self.bn1(x, c))))
        h = self.conv2(F.relu(self.bn2(h, c)))
        sc = self._up(x)
        return h + (self.shortcut(sc) if self.shortcut is not None else sc)


class DBlock(nn.Module):
    """Residual down block: (ReLU)-conv-ReLU-conv-(pool) plus a shortcut; no pre-activation on the first block."""

    def __init__(self, cin: int, cout: int, downsample: bool = True, preactivation: bool = True):
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = sn(nn.Conv2d(cin, cout, 3, 1, 1))
        self.conv2 = sn(nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = sn(nn.Conv2d(cin, cout, 1)) if cin != cout or downsample else None

    def _down(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self._down(self.conv2(F.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        # BigGAN order: pre-activated blocks convolve then pool; the first block pools then convolves
        sc = self._down(self.shortcut(x)) if self.preactivation else self.shortcut(self._down(x))
        return h + sc


class BigganDiscriminator(nn.Module):
    """BigGAN discriminator: residual down blocks, sum pooling, spectral-normed projection head.

    Example:
        >>> d = BigganDiscriminator(latent_dim=16, num_classes=3, channels=3, height=32, width=32, ch=8)
        >>> d(torch.randn(2, 3, 32, 32), torch.tensor([0, 2])).shape
        torch.Size([2])
    """

    @records_arch_args(gan_arch_args(DEFAULT_CH))
    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        channels: int,
        height: int,
        width: int,
        ch: int = 0,
        info_codes: str = "",
    ):
        super().__init__()
        self.num_classes = num_classes
        _, _, n_down = plan_resolution(height, width)
        widths = level_widths(ch, n_down, CAP)
        blocks, cin = [], channels
        for i, cout in enumerate(widths):  # n_down downsampling blocks, then one at the base size
            blocks.append(DBlock(cin, cout, downsample=i < n_down, preactivation=i > 0))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = ProjectionHead(widths[-1], num_classes, use_sn=True)

    def feature_map(self, x: Tensor) -> Tensor:
        """The last feature map, before pooling (what an InfoGAN Q head reads, keeping where things are)."""
        return F.relu(self.blocks(x))

    def features(self, x: Tensor) -> Tensor:
        """The pooled vector the projection head reads (and an auxiliary classifier, with ``--class-loss``)."""
        return pool_features(self.feature_map(x))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.head(self.features(x), as_labels(y, x.shape[0], x.device))


@register_arch(
    "biggan",
    discriminator=BigganDiscriminator,
    description="BigGAN-style residual nets: class-conditional BN, spectral norm, projection D (small-data default)",
    loss="hinge",
    beta1=0.0,
    ch=DEFAULT_CH,
)
class BigganGenerator(nn.Module):
    """BigGAN generator: ``forward(z, y)`` -> images in [-1, 1] of shape ``(B, channels, height, width)``.

    Example:
        >>> g = BigganGenerator(latent_dim=16, num_classes=3, channels=3, height=32, width=32, ch=8)
        >>> g(torch.randn(2, 16), torch.tensor([0, 2])).shape
        torch.Size([2, 3, 32, 32])
    """

    @records_arch_args(gan_arch_args(DEFAULT_CH))
    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        channels: int,
        height: int,
        width: int,
        ch: int = 0,
        info_codes: str = "",
    ):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.code_dim = input_codes_dim(info_codes)
        z_dim = latent_dim + self.code_dim  # the noise with the InfoGAN codes appended, if any
        base_h, base_w, n_up = plan_resolution(height, width)
        widths = level_widths(ch, n_up, CAP, reverse=True)
        self.base = (widths[0], base_h, base_w)
        self.shared = nn.Embedding(num_classes, SHARED_DIM)
        nn.init.orthogonal_(self.shared.weight)
        self.register_buffer("cond_scale", torch.ones(()), persistent=False)  # gradual conditioning (--cond-ramp)
        cond_dim = SHARED_DIM + z_dim
        self.fc = sn(nn.Linear(z_dim, widths[0] * base_h * base_w))
        pairs = list(zip(widths[:-1], widths[1:], strict=True)) or [(widths[0], widths[0])]
        self.blocks = nn.ModuleList(GBlock(a, b, cond_dim, upsample=n_up > 0) for a, b in pairs)
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = sn(nn.Conv2d(widths[-1], channels, 3, 1, 1))

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        y = as_labels(y, z.shape[0], z.device)
        c = torch.cat([(self.shared(y) * self.cond_scale).to(z.dtype), z], dim=1)
        h = self.fc(z).view(z.shape[0], *self.base)
        for block in self.blocks:
            h = block(h, c)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))
