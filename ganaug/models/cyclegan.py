"""CycleGAN networks (Zhu et al. 2017): ResNet and U-Net generators, the 70x70 PatchGAN discriminator, a guard CNN.

Registered by name in ``ganaug.builders.TRANSLATORS`` (``resnet``, ``unet``). A translator is rebuilt from its export's
``arch_args``, a JSON dict::

    {"channels_a": 1, "channels_b": 3, "height": 64, "width": 64,
     "generator": {"ngf": 64, "blocks": 6}, "discriminator": {"ndf": 64, "layers": 3}}

Generators are fully convolutional and take inputs of any size: ``forward`` pads the input to a multiple of the
network's ``stride`` (reflection where the input is large enough, else edge replication) and crops the output back.
Weights are initialised N(0, 0.02) as in the reference implementation; normalisation is instance norm without
learned affine parameters or running statistics, so train and eval mode compute the same thing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..builders import TRANSLATORS, register_translator
from ..errors import GanaugError

MIN_SIDE = 8  # reflection padding inside the networks needs a few pixels at the coarsest level


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def init_weights_(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """N(0, gain) for conv weights, zero biases (the reference ``init_type='normal'``)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def pad_to_multiple(x: Tensor, stride: int, minimum: int = MIN_SIDE) -> tuple[Tensor, tuple[int, int]]:
    """Pad N x C x H x W at the bottom/right to a multiple of ``stride`` (at least ``minimum``); returns (x, (H, W))."""
    h, w = x.shape[-2:]
    th = max(minimum, math.ceil(h / stride) * stride)
    tw = max(minimum, math.ceil(w / stride) * stride)
    if (th, tw) == (h, w):
        return x, (h, w)
    ph, pw = th - h, tw - w
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class _Padded(nn.Module):
    """Base of the generators: pad to the stride, run ``body``, crop back."""

    stride = 1
    body: nn.Module

    def forward(self, x: Tensor) -> Tensor:
        padded, (h, w) = pad_to_multiple(x, self.stride)
        out = self.body(padded)
        return out if out.shape[-2:] == (h, w) else out[..., :h, :w]


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, dropout: bool = False):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResnetGenerator(_Padded):
    """c7s1-ngf, two stride-2 downsamplings, ``blocks`` residual blocks, two upsamplings, c7s1-out, Tanh.

    Example:
        >>> g = ResnetGenerator(channels_in=1, channels_out=3, ngf=8, blocks=2)
        >>> g(torch.randn(2, 1, 20, 13)).shape
        torch.Size([2, 3, 20, 13])
    """

    stride = 4

    def __init__(self, channels_in: int, channels_out: int, ngf: int = 64, blocks: int = 9, dropout: bool = False):
        super().__init__()
        _check_positive(channels_in=channels_in, channels_out=channels_out, ngf=ngf, blocks=blocks)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels_in, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for i in range(2):
            cin, cout = ngf * 2**i, ngf * 2 ** (i + 1)
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), _norm(cout), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, dropout) for _ in range(blocks)]
        for i in range(2, 0, -1):
            cin, cout = ngf * 2**i, ngf * 2 ** (i - 1)
            layers += [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1), _norm(cout)]
            layers.append(nn.ReLU(True))
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels_out, 7), nn.Tanh()]
        self.body = init_weights_(nn.Sequential(*layers))


class UnetBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, and the skip connection (concatenation) around them."""

    def __init__(
        self, outer: int, inner: int, sub: nn.Module | None = None, channels_in: int | None = None, **kind: bool
    ):
        super().__init__()
        outermost, innermost, dropout = kind.get("outermost", False), kind.get("innermost", False), kind.get("dropout")
        self.outermost = outermost
        down_conv = nn.Conv2d(channels_in or outer, inner, 4, stride=2, padding=1)
        if outermost:
            down = [down_conv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), nn.Tanh()]
        elif innermost:
            down = [nn.LeakyReLU(0.2, True), down_conv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1), _norm(outer)]
        else:
            down = [nn.LeakyReLU(0.2, True), down_conv, _norm(inner)]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1), _norm(outer)]
            if dropout:
                up.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(_Padded):
    """The reference U-Net: ``downs`` stride-2 levels (8 for 256 pixels), widths ngf..8*ngf, skip connections.

    Example:
        >>> g = UnetGenerator(channels_in=3, channels_out=3, ngf=4, downs=3)
        >>> g(torch.randn(1, 3, 10, 10)).shape
        torch.Size([1, 3, 10, 10])
    """

    def __init__(
        self, channels_in: int, channels_out: int, ngf: int = 64, downs: int = 8, dropout: bool = False
    ) -> None:
        super().__init__()
        _check_positive(channels_in=channels_in, channels_out=channels_out, ngf=ngf)
        if not 2 <= downs <= 10:
            raise GanaugError(f"unet downs={downs} is not accepted; give 2 to 10 levels")
        self.stride = 2**downs
        widths = [ngf * min(8, 2**i) for i in range(downs)]  # output width of each down level
        block = UnetBlock(widths[-2], widths[-1], innermost=True)
        for j in range(downs - 2, 0, -1):  # level j maps widths[j - 1] -> widths[j]; dropout where both are 8 * ngf
            block = UnetBlock(widths[j - 1], widths[j], block, dropout=dropout and widths[j - 1] == widths[j])
        self.body = init_weights_(UnetBlock(channels_out, ngf, block, channels_in=channels_in, outermost=True))


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``layers`` stride-2 convs (3 gives the 70x70 receptive field), then two stride-1 convs; one
    real/fake score per patch (N x 1 x h x w).

    Example:
        >>> PatchDiscriminator(channels=3, ndf=8, layers=3)(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2, 1, 6, 6])
    """

    def __init__(self, channels: int, ndf: int = 64, layers: int = 3):
        super().__init__()
        _check_positive(channels=channels, ndf=ndf, layers=layers)
        seq: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < layers else 1
            seq += [nn.Conv2d(width, out, 4, stride=stride, padding=1), _norm(out), nn.LeakyReLU(0.2, True)]
            width = out
        seq.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = init_weights_(nn.Sequential(*seq))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class GuardClassifier(nn.Module):
    """A small CNN classifier in model space, used as the content guard (does a translation keep the class?).

    Example:
        >>> GuardClassifier(channels=1, num_classes=3, width=8)(torch.randn(2, 1, 16, 16)).shape
        torch.Size([2, 3])
    """

    def __init__(self, channels: int, num_classes: int, width: int = 32):
        super().__init__()
        _check_positive(channels=channels, num_classes=num_classes, width=width)
        seq: list[nn.Module] = []
        cin = channels
        for cout in (width, width * 2, width * 4):
            seq += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), _norm(cout), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.features = nn.Sequential(*seq)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise GanaugError(f"arch argument {name}={value!r} is not accepted; give an integer >= 1")


def default_blocks(height: int, width: int) -> int:
    """The reference's choice: 9 residual blocks from 256 pixels up, 6 below."""
    return 9 if min(height, width) >= 256 else 6


def default_downs(height: int, width: int) -> int:
    """U-Net levels down to a 1-pixel bottleneck (8 for 256 pixels), at least 2 and at most 8."""
    return max(2, min(8, int(math.log2(max(1, min(height, width))))))


def default_d_layers(height: int, width: int) -> int:
    """3 (70x70 patches) from 64 pixels up; fewer for smaller images so that some patches remain."""
    side = min(height, width)
    return max(1, min(3, int(math.log2(max(1, side // 8)))))


register_translator(
    "resnet",
    ResnetGenerator,
    discriminator=PatchDiscriminator,
    description="ResNet generator (instance norm, reflection padding; 6 or 9 blocks) + 70x70 PatchGAN",
    loss="lsgan",
    beta1=0.5,
    ch=64,
)
register_translator(
    "unet",
    UnetGenerator,
    discriminator=PatchDiscriminator,
    description="U-Net generator with skip connections (8 levels at 256 pixels) + 70x70 PatchGAN",
    loss="lsgan",
    beta1=0.5,
    ch=64,
)


def translator_args(
    arch: str, channels_a: int, channels_b: int, height: int, width: int, ch: int, blocks: int = 0, d_layers: int = 0
) -> dict:
    """The JSON ``arch_args`` of a translator pair, with the size-dependent defaults resolved."""
    TRANSLATORS.get(arch)
    gen: dict = {"ngf": int(ch)}
    if arch == "resnet":
        gen["blocks"] = int(blocks or default_blocks(height, width))
    else:
        gen["downs"] = default_downs(height, width)
    return {
        "channels_a": int(channels_a),
        "channels_b": int(channels_b),
        "height": int(height),
        "width": int(width),
        "generator": gen,
        "discriminator": {"ndf": int(ch), "layers": int(d_layers or default_d_layers(height, width))},
    }


def build_translators(arch: str, arch_args: dict) -> tuple[nn.Module, nn.Module]:
    """The (a2b, b2a) generators of ``arch`` from ``arch_args``."""
    entry = TRANSLATORS.get(arch)
    ca, cb, gen = arch_args["channels_a"], arch_args["channels_b"], arch_args["generator"]
    return entry.generator(ca, cb, **gen), entry.generator(cb, ca, **gen)


def build_patch_discriminators(arch: str, arch_args: dict) -> tuple[nn.Module, nn.Module]:
    """(D_a, D_b): D_a judges images of domain A (real or b2a), D_b those of domain B."""
    entry = TRANSLATORS.get(arch)
    d = arch_args["discriminator"]
    return entry.discriminator(arch_args["channels_a"], **d), entry.discriminator(arch_args["channels_b"], **d)
