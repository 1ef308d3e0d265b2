"""``mlp``: the fully connected conditional GAN of Goodfellow et al. / Mirza & Osindero, with a projection D.

Generator: ``cat(z, embed(y))`` -> ``ch`` -> ``2ch`` -> ``4ch`` (LeakyReLU 0.2) -> ``C*H*W`` -> Tanh.
Discriminator: flatten -> ``4ch`` -> ``2ch`` -> ``ch`` (LeakyReLU 0.2) -> ``linear(h) + <embed(y), h>``.
Default ``ch = 256`` (hidden 256/512/1024). At 32x32x3 with ``latent_dim=128`` and 10 classes the generator
has about 3.8 M parameters and the discriminator about 3.8 M; both scale with ``C*H*W`` (an MLP is a baseline
for small images, not a model for 128x128). Training defaults: ``bce`` loss, Adam beta1 0.5.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..builders import register_arch
from ..exported import records_arch_args
from .layers import ProjectionHead, as_labels, gan_arch_args, input_codes_dim

DEFAULT_CH = 256
EMBED_DIM = 64


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class MlpDiscriminator(nn.Module):
    """MLP discriminator with a projection head; returns one raw logit per sample.

    Example:
        >>> d = MlpDiscriminator(latent_dim=16, num_classes=2, channels=1, height=8, width=8, ch=8)
        >>> d(torch.randn(3, 1, 8, 8), torch.tensor([0, 1, 1])).shape
        torch.Size([3])
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
        self.body = _mlp([channels * height * width, 4 * ch, 2 * ch, ch])
        self.head = ProjectionHead(ch, num_classes)

    def feature_map(self, x: Tensor) -> Tensor:
        """The features as a vector (an MLP has no map); the same as :meth:`features`."""
        return self.body(x.flatten(1))

    def features(self, x: Tensor) -> Tensor:
        """The vector the projection head reads (and an auxiliary classifier, with ``--class-loss``)."""
        return self.feature_map(x)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.head(self.features(x), as_labels(y, x.shape[0], x.device))


@register_arch(
    "mlp",
    discriminator=MlpDiscriminator,
    description="fully connected conditional GAN (baseline for small images)",
    loss="bce",
    beta1=0.5,
    ch=DEFAULT_CH,
)
class MlpGenerator(nn.Module):
    """MLP generator: ``forward(z, y)`` -> images in [-1, 1] of shape ``(B, channels, height, width)``.

    Example:
        >>> g = MlpGenerator(latent_dim=16, num_classes=2, channels=1, height=8, width=8, ch=8)
        >>> g(torch.randn(3, 16), torch.tensor([0, 1, 1])).shape
        torch.Size([3, 1, 8, 8])
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
        self.shape = (channels, height, width)
        self.embed = nn.Embedding(num_classes, EMBED_DIM)
        self.register_buffer("cond_scale", torch.ones(()), persistent=False)  # gradual conditioning (--cond-ramp)
        self.body = _mlp([latent_dim + self.code_dim + EMBED_DIM, ch, 2 * ch, 4 * ch])
        self.out = nn.Linear(4 * ch, channels * height * width)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        y = as_labels(y, z.shape[0], z.device)
        h = self.body(torch.cat([z, (self.embed(y) * self.cond_scale).to(z.dtype)], dim=1))
        return self.out(h).tanh().view(z.shape[0], *self.shape)
