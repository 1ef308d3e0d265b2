"""``dcgan``: DCGAN (Radford et al. 2016) made class-conditional, with a projection discriminator.

Generator: ``cat(z, embed(y))`` -> linear to a ``base_h x base_w`` map -> BN, ReLU -> per upsampling either
``ConvTranspose2d(4, 2, 1)`` (``upsample="deconv"``) or ``conv3x3 + PixelShuffle(2)`` (``"pixelshuffle"``), BN,
ReLU -> ``conv3x3`` -> Tanh. Widths go ``ch * min(8, 2**k)`` from wide to narrow (see ``layers.plan_resolution``).
Discriminator: ``Conv2d(4, 2, 1)`` per downsampling with LeakyReLU(0.2), BatchNorm on all but the first conv,
a ``conv3x3`` at the base size, global sum pooling and a projection head. Init N(0, 0.02).

Default ``ch = 40``: at 32x32x3 (``latent_dim=128``, 10 classes) the generator has about 2.1 M parameters with
deconv (3.4 M with pixelshuffle) and the discriminator about 0.7 M; one G+D pass of a batch of 64 takes about
0.1 s on 2 CPU cores. Training defaults: ``bce``, Adam beta1 0.5.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..builders import register_arch
from ..errors import known
from ..exported import records_arch_args
from .layers import (
    ProjectionHead,
    as_labels,
    gan_arch_args,
    init_dcgan_,
    input_codes_dim,
    level_widths,
    plan_resolution,
    pool_features,
)

DEFAULT_CH = 40
EMBED_DIM = 64
CAP = 8
UPSAMPLE_MODES = ("deconv", "pixelshuffle")


def _check_upsample(upsample: str) -> None:
    if upsample not in UPSAMPLE_MODES:
        raise known("dcgan upsample mode", upsample, UPSAMPLE_MODES)


def _up(cin: int, cout: int, upsample: str) -> list[nn.Module]:
    if upsample == "deconv":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
    return [nn.Conv2d(cin, cout * 4, 3, 1, 1, bias=False), nn.PixelShuffle(2)]


class DcganDiscriminator(nn.Module):
    """DCGAN discriminator with a projection head; ``upsample`` is accepted (one arch_args dict) and ignored.

    Example:
        >>> d = DcganDiscriminator(latent_dim=16, num_classes=2, channels=3, height=32, width=32, ch=8)
        >>> d(torch.randn(2, 3, 32, 32), torch.tensor([0, 1])).shape
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
        upsample: str = "deconv",
        info_codes: str = "",
    ):
        super().__init__()
        _check_upsample(upsample)
        self.num_classes = num_classes
        _, _, n_down = plan_resolution(height, width)
        widths = level_widths(ch, n_down, CAP)
        layers: list[nn.Module] = []
        cin = channels
        for i in range(n_down):
            layers.append(nn.Conv2d(cin, widths[i], 4, 2, 1, bias=i == 0))
            layers += [nn.BatchNorm2d(widths[i])] if i > 0 else []
            layers.append(nn.LeakyReLU(0.2))
            cin = widths[i]
        # one stride-1 conv at the base size (the first layer, without BN, when there is no downsampling)
        layers.append(nn.Conv2d(cin, widths[-1], 3, 1, 1, bias=n_down == 0))
        layers += [nn.BatchNorm2d(widths[-1])] if n_down > 0 else []
        layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.head = ProjectionHead(widths[-1], num_classes)
        init_dcgan_(self)

    def feature_map(self, x: Tensor) -> Tensor:
        """The last feature map, before pooling (what an InfoGAN Q head reads, keeping where things are)."""
        return self.body(x)

    def features(self, x: Tensor) -> Tensor:
        """The pooled vector the projection head reads (and an auxiliary classifier, with ``--class-loss``)."""
        return pool_features(self.feature_map(x))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.head(self.features(x), as_labels(y, x.shape[0], x.device))


@register_arch(
    "dcgan",
    discriminator=DcganDiscriminator,
    description="DCGAN: transposed-conv or PixelShuffle generator, BatchNorm, LeakyReLU discriminator",
    loss="bce",
    beta1=0.5,
    ch=DEFAULT_CH,
)
class DcganGenerator(nn.Module):
    """Conditional DCGAN generator: ``forward(z, y)`` -> images in [-1, 1].

    Example:
        >>> g = DcganGenerator(latent_dim=16, num_classes=2, channels=1, height=28, width=28, ch=8)
        >>> g(torch.randn(2, 16), torch.tensor([0, 1])).shape
        torch.Size([2, 1, 28, 28])
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
        upsample: str = "deconv",
        info_codes: str = "",
    ):
        super().__init__()
        _check_upsample(upsample)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.code_dim = input_codes_dim(info_codes)
        base_h, base_w, n_up = plan_resolution(height, width)
        widths = level_widths(ch, n_up, CAP, reverse=True)
        self.base = (widths[0], base_h, base_w)
        self.embed = nn.Embedding(num_classes, EMBED_DIM)
        self.register_buffer("cond_scale", torch.ones(()), persistent=False)  # gradual conditioning (--cond-ramp)
        self.fc = nn.Linear(latent_dim + self.code_dim + EMBED_DIM, widths[0] * base_h * base_w, bias=False)
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layers += _up(cin, cout, upsample) + [nn.BatchNorm2d(cout), nn.ReLU()]
        layers += [nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        init_dcgan_(self)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        y = as_labels(y, z.shape[0], z.device)
        h = self.fc(torch.cat([z, (self.embed(y) * self.cond_scale).to(z.dtype)], dim=1))
        return self.body(h.view(z.shape[0], *self.base))
