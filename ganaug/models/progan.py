"""``progan``: progressive growing of GANs (Karras et al. 2018), made class-conditional.

Both networks hold every resolution from the start, 4 pixels on the shorter side up to the data's size (each side
must be 4 * 2**k), and a *growth state*: the stage (0 = the base size, ``n_up`` = full size) and the fade-in weight
``alpha`` of that stage's new layers, kept as persistent buffers, so a checkpoint or an export carries them. The
trainer sets them every step (``ganaug.training.progan_schedule``).

Generator: ``cat(pixel_norm(z), pixel_norm(embed(y)))`` -> equalised linear to a ``base_h x base_w`` map -> conv3x3
-> per stage a block (nearest 2x upsample, conv3x3 x2), every conv followed by LeakyReLU(0.2) and pixel norm; a 1x1
"to RGB" conv per stage. During a fade the output is ``lerp(upsample(rgb of the stage before), rgb, alpha)``.
Below full size the image is upsampled (nearest) to the data's size, so the generator's output always has the
data's shape (an export taken before the last stage samples blocky, full-size images).
Discriminator: the mirror (a 1x1 "from RGB" conv per stage, blocks of conv3x3 x2 and 2x2 average pooling; full-size
input is average-pooled to the stage's size first), minibatch standard deviation (one feature map, groups of 4
samples), conv3x3, an equalised linear layer and a projection head for the class. Every conv and linear layer uses
the equalised learning rate (weights N(0, 1), scaled by He's constant at run time).

Widths ``ch * min(8, 2**k)`` from the base size down (default ``ch = 32``: 256 channels at 4..16 px, 32 at 128 px).
Training defaults as in the paper: ``wgan-gp`` with one D step per G step, Adam lr 1e-3, betas (0, 0.99).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..builders import register_arch
from ..errors import GanaugError
from ..exported import records_arch_args
from .layers import ProjectionHead, as_labels, gan_arch_args, level_widths

DEFAULT_CH = 32
CAP = 8
EMBED_DIM = 64
MBSTD_GROUP = 4
BASE = 4
SLOPE = 0.2


def valid_sides(limit: int = 1024) -> list[int]:
    """The sides progressive growing reaches by doubling from 4: 4, 8, ..., ``limit``."""
    return [BASE << k for k in range(int(math.log2(limit // BASE)) + 1)]


def progan_levels(height: int, width: int) -> tuple[int, int, int]:
    """``(base_h, base_w, n_up)``: the shorter side starts at 4, and both double ``n_up`` times to the data's size.

    A side that is not 4 * 2**k is an error that names the nearest sizes it could grow to.

    Example:
        >>> progan_levels(128, 128), progan_levels(32, 64)
        ((4, 4, 5), (4, 8, 3))
    """
    sides = valid_sides()
    for name, side in (("height", height), ("width", width)):
        if side not in sides:
            lower = max([s for s in sides if s < side], default=None)
            upper = min([s for s in sides if s > side], default=None)
            near = " or ".join(str(s) for s in (lower, upper) if s is not None)
            raise GanaugError(
                f"--arch progan grows by doubling from 4 pixels, so each side must be 4 * 2**k (4, 8, 16, ..., 1024); "
                f"the {name} {side} is not: the nearest are {near}. Give --resolution {upper or lower} (the data is "
                "resized to it), or choose another --arch"
            )
    n_up = min(int(math.log2(height // BASE)), int(math.log2(width // BASE)))
    return height >> n_up, width >> n_up, n_up


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Each sample's feature vector (per pixel) scaled to unit mean square over the channels."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: Tensor, group: int = MBSTD_GROUP) -> Tensor:
    """``x`` with one more feature map: the standard deviation over each group of consecutive samples (averaged over
    features and pixels), so D can see a lack of variety. The group is the largest size <= ``group`` that divides
    the batch."""
    b, _, h, w = x.shape
    g = next(k for k in range(min(group, b), 0, -1) if b % k == 0)
    y = x.float().reshape(b // g, g, *x.shape[1:])
    std = (y - y.mean(dim=1, keepdim=True)).pow(2).mean(dim=1).add(1e-8).sqrt().mean(dim=(1, 2, 3))
    return torch.cat([x, std.repeat_interleave(g).view(b, 1, 1, 1).expand(b, 1, h, w).to(x.dtype)], dim=1)


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate: weights N(0, 1), multiplied by ``gain / sqrt(fan_in)``."""

    def __init__(self, cin: int, cout: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """Conv layer (stride 1, same padding) with the equalised learning rate, as :class:`EqualLinear`."""

    def __init__(self, cin: int, cout: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def _act(x: Tensor) -> Tensor:
    return F.leaky_relu(x, SLOPE)


class _Growing(nn.Module):
    """The growth state both networks carry: ``stage`` and ``alpha`` buffers (full size, no fade when built)."""

    def _init_growth(self, n_up: int) -> None:
        self.n_up = n_up
        self.register_buffer("stage", torch.tensor(n_up, dtype=torch.long))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, stage: int, alpha: float) -> None:
        """Train or sample at ``stage`` (0..n_up) with its new layers faded in by ``alpha`` (0..1)."""
        if not 0 <= stage <= self.n_up or not 0.0 <= alpha <= 1.0:
            raise GanaugError(f"growth stage {stage} (of 0..{self.n_up}) with alpha {alpha} is out of range")
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def growth(self) -> tuple[int, float]:
        """The current ``(stage, alpha)``."""
        return int(self.stage), float(self.alpha)


class ProganDiscriminator(_Growing):
    """ProGAN discriminator at its current stage: ``forward(x, y)`` on data-size images -> one logit per sample.

    Example:
        >>> d = ProganDiscriminator(latent_dim=16, num_classes=2, channels=3, height=16, width=16, ch=8)
        >>> d.set_growth(1, 0.5)
        >>> d(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 0, 1])).shape
        torch.Size([4])
    """

    batch_statistics = True  # minibatch stddev reads the batch: the trainer passes real and fake batches apart

    @records_arch_args(gan_arch_args(DEFAULT_CH))
    def __init__(self, latent_dim: int, num_classes: int, channels: int, height: int, width: int, ch: int = 0):
        super().__init__()
        self.num_classes = num_classes
        base_h, base_w, n_up = progan_levels(height, width)
        self._init_growth(n_up)
        widths = level_widths(ch, n_up, CAP, reverse=True)  # by level: widths[0] at the base size
        self.from_rgb = nn.ModuleList(EqualConv2d(channels, w, 1) for w in widths)
        self.blocks = nn.ModuleList(  # blocks[k - 1] takes level k down to level k - 1
            nn.ModuleList([EqualConv2d(widths[k], widths[k], 3), EqualConv2d(widths[k], widths[k - 1], 3)])
            for k in range(1, n_up + 1)
        )
        self.final_conv = EqualConv2d(widths[0] + 1, widths[0], 3)
        self.final_fc = EqualLinear(widths[0] * base_h * base_w, widths[0])
        self.head = ProjectionHead(widths[0], num_classes)

    def _down(self, h: Tensor, level: int) -> Tensor:
        conv1, conv2 = self.blocks[level - 1]
        return F.avg_pool2d(_act(conv2(_act(conv1(h)))), 2)

    def features(self, x: Tensor) -> Tensor:
        """The vector the projection head reads (and an auxiliary classifier, with ``--class-loss``)."""
        stage, alpha = self.growth()
        if stage < self.n_up:
            x = F.avg_pool2d(x, 2 ** (self.n_up - stage))
        h = _act(self.from_rgb[stage](x))
        if stage > 0:
            h = self._down(h, stage)
            if alpha < 1.0:  # fading in: blend with the stage before, fed the image at its size
                h = torch.lerp(_act(self.from_rgb[stage - 1](F.avg_pool2d(x, 2))), h, alpha)
            for level in range(stage - 1, 0, -1):
                h = self._down(h, level)
        h = _act(self.final_conv(minibatch_stddev(h)))
        return _act(self.final_fc(h.reshape(h.shape[0], -1)))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.head(self.features(x), as_labels(y, x.shape[0], x.device))


@register_arch(
    "progan",
    discriminator=ProganDiscriminator,
    description="progressive growing from 4x4 with fade-in, equalised lr, pixel norm, minibatch stddev, projection D "
    "(128-256 px)",
    loss="wgan-gp",
    beta1=0.0,
    beta2=0.99,
    lr_g=1e-3,
    lr_d=1e-3,
    d_steps=1,
    ch=DEFAULT_CH,
)
class ProganGenerator(_Growing):
    """ProGAN generator at its current stage: ``forward(z, y)`` -> images in [-1, 1] at the data's size.

    Example:
        >>> g = ProganGenerator(latent_dim=16, num_classes=2, channels=3, height=16, width=16, ch=8)
        >>> g.set_growth(0, 1.0)  # 4x4, upsampled to 16x16
        >>> g(torch.randn(2, 16), torch.tensor([0, 1])).shape
        torch.Size([2, 3, 16, 16])
    """

    @records_arch_args(gan_arch_args(DEFAULT_CH))
    def __init__(self, latent_dim: int, num_classes: int, channels: int, height: int, width: int, ch: int = 0):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        base_h, base_w, n_up = progan_levels(height, width)
        self._init_growth(n_up)
        widths = level_widths(ch, n_up, CAP, reverse=True)
        self.base = (widths[0], base_h, base_w)
        self.embed = nn.Embedding(num_classes, EMBED_DIM)
        nn.init.normal_(self.embed.weight)
        self.register_buffer("cond_scale", torch.ones(()), persistent=False)  # gradual conditioning (--cond-ramp)
        self.fc = EqualLinear(latent_dim + EMBED_DIM, widths[0] * base_h * base_w, gain=math.sqrt(2) / 4)
        self.base_conv = EqualConv2d(widths[0], widths[0], 3)
        self.blocks = nn.ModuleList(  # blocks[k - 1] takes level k - 1 up to level k
            nn.ModuleList([EqualConv2d(widths[k - 1], widths[k], 3), EqualConv2d(widths[k], widths[k], 3)])
            for k in range(1, n_up + 1)
        )
        self.to_rgb = nn.ModuleList(EqualConv2d(w, channels, 1, gain=1.0) for w in widths)

    def _up(self, h: Tensor, level: int) -> Tensor:
        conv1, conv2 = self.blocks[level - 1]
        h = pixel_norm(_act(conv1(F.interpolate(h, scale_factor=2.0, mode="nearest"))))
        return pixel_norm(_act(conv2(h)))

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        y = as_labels(y, z.shape[0], z.device)
        stage, alpha = self.growth()
        e = pixel_norm(self.embed(y)) * self.cond_scale
        h = _act(self.fc(torch.cat([pixel_norm(z), e.to(z.dtype)], dim=1)))
        h = pixel_norm(h.reshape(z.shape[0], *self.base))
        h = pixel_norm(_act(self.base_conv(h)))
        before = h
        for level in range(1, stage + 1):
            before = h
            h = self._up(h, level)
        rgb = self.to_rgb[stage](h)
        if stage > 0 and alpha < 1.0:  # fading in: blend with the upsampled image of the stage before
            rgb = torch.lerp(
                F.interpolate(self.to_rgb[stage - 1](before), scale_factor=2.0, mode="nearest"), rgb, alpha
            )
        out = torch.tanh(rgb)
        if stage < self.n_up:
            out = F.interpolate(out, scale_factor=float(2 ** (self.n_up - stage)), mode="nearest")
        return out
