"""The small ResNet-style classifier that ganaug measures with: the feature extractor of the quality metrics and the
downstream model of ``ganaug evaluate``. Trained on model-space tensors ([-1, 1], N x C x H x W) held in memory.

Example:
    >>> net = SmallResNet(channels=1, num_classes=2, height=28, width=28)
    >>> net(torch.zeros(4, 1, 28, 28)).shape
    torch.Size([4, 2])
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..exported import records_arch_args

ModelFactory = Callable[[int, int, int, int], nn.Module]
"""``factory(channels, num_classes, height, width) -> nn.Module`` returning logits; ``ganaug evaluate`` takes one."""


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))


INNER_PIXELS = 32  # larger images are halved by a strided stem until they are at most this size


def _resolve_small_resnet(a: dict) -> dict:
    """Settle ``stem_stride`` (0: halve images above 32 pixels until they are not) and ``base`` (0: 16 up to 32 pixels
    inside the stem, else 32)."""
    side = max(1, min(a["height"], a["width"]))
    stride = a["stem_stride"] or 2 ** max(0, math.ceil(math.log2(side / INNER_PIXELS)))
    if stride < 1 or stride & (stride - 1):
        raise ValueError(f"stem_stride must be a power of two, got {stride}")
    return {**a, "stem_stride": stride, "base": a["base"] or (16 if side // stride <= INNER_PIXELS else 32)}


class SmallResNet(nn.Module):
    """A ResNet-style CNN sized to the data: a stem that halves images above 32 pixels (stride-2 convolutions, so a
    64x64 spectrogram costs about what a 28x28 image does), one residual block per stage, a stage per halving down to
    ~4 pixels.

    ``base`` is the first stage's channels (0: 16, or 32 when more than 32 pixels are left after the stem).
    ``features(x)`` gives the pooled penultimate vector (``num_features`` long) that the quality metrics use.
    ``from_config`` rebuilds a saved one.

    Example:
        >>> SmallResNet(3, 5, 28, 28).num_features
        64
    """

    @records_arch_args(_resolve_small_resnet)
    def __init__(self, channels: int, num_classes: int, height: int, width: int, base: int = 0, stem_stride: int = 0):
        super().__init__()
        inner = max(1, min(height, width) // stem_stride)
        downs = max(0, min(3, int(math.floor(math.log2(inner / 4)))))
        widths = [base * 2**i for i in range(downs + 1)]
        stem: list[nn.Module] = []
        for i in range(max(1, int(math.log2(stem_stride)))):  # one 3x3 convolution per halving (at least one)
            stem += [nn.Conv2d(channels if i == 0 else base, base, 3, 2 if stem_stride > 1 else 1, 1, bias=False),
                     nn.BatchNorm2d(base), nn.ReLU()]  # fmt: skip
        self.stem = nn.Sequential(*stem)
        blocks, cin = [], base
        for i, w in enumerate(widths):
            blocks.append(ResidualBlock(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.num_features = cin
        self.head = nn.Linear(cin, num_classes)

    @classmethod
    def from_config(cls, arch_args: dict) -> SmallResNet:
        """Rebuild from saved ``arch_args``; those saved before the strided stem (no ``stem_stride``) had none."""
        return cls(**{"stem_stride": 1, **arch_args})

    @property
    def config(self) -> dict:
        """The constructor arguments that rebuild it (``arch_args``, with ``base`` resolved)."""
        return self.arch_args

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def default_factory(channels: int, num_classes: int, height: int, width: int) -> nn.Module:
    """The default :data:`ModelFactory`: a :class:`SmallResNet`."""
    return SmallResNet(channels, num_classes, height, width)


def one_thread_suits(x: torch.Tensor, device: torch.device) -> bool:
    """Whether a small classifier on ``x`` trains on one CPU thread (:func:`cpu_threads_for`): small images on a CPU."""
    return device.type == "cpu" and x.ndim == 4 and x[0].numel() <= 64 * 64 * 3


@contextlib.contextmanager
def cpu_threads_for(x: torch.Tensor, device: torch.device) -> Iterator[None]:
    """One intra-op CPU thread for small images (up to 64x64x3): on tiny convolutions more threads cost more than
    they gain, and many times more on a busy machine. The thread count is restored afterwards."""
    before = torch.get_num_threads()
    if one_thread_suits(x, device) and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class SyntheticStream:
    """Synthetic samples mixed into every batch of :func:`train_classifier`.

    ``pool(i)`` returns pool ``i`` as ``(x, targets)`` (targets: class indices or N x K probabilities); training
    moves to the next of ``pools`` pools at even intervals, so the classifier sees fresh samples. ``share`` of each
    batch is synthetic; their loss is weighted by ``weight``; the last ``finetune`` fraction of steps is real only.
    """

    pool: Callable[[int], tuple[torch.Tensor, torch.Tensor]]
    pools: int = 1
    share: float = 0.5
    weight: float = 1.0
    finetune: float = 0.0


def as_probabilities(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices (N) as one-hot rows, or N x K probabilities as they are (float32)."""
    if y.ndim == 2:
        return y.float()
    return F.one_hot(y.long(), num_classes).float()


def train_classifier(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 5e-4,
    seed: int = 0,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    device: str | torch.device = "cpu",
    min_steps: int = 0,
    steps: int = 0,
    synthetic: SyntheticStream | None = None,
    relabel: Callable[[torch.Tensor], torch.Tensor] | None = None,
    mixup: float = 0.0,
    balanced: bool = False,
    precision: str = "auto",
) -> nn.Module:
    """Train ``net`` with AdamW and a cosine schedule on in-memory tensors; returns it in eval mode on ``device``.

    ``y`` holds class indices or N x K probabilities (soft labels). The run lasts ``steps`` updates when given (the
    same for every arm of an evaluation, whatever its data size), else ``epochs`` passes over ``x`` and at least
    ``min_steps`` updates. ``synthetic`` mixes generated samples in; ``augment(batch, gen)`` is applied to every
    batch, real and synthetic items alike; ``mixup`` (a Beta(a, a) parameter) blends pairs of real images and
    ``relabel(batch)`` replaces their targets (a teacher's probabilities: distillation). Everything random comes
    from ``seed``.
    """
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    net = net.to(device).train()
    n = len(y)
    per_epoch = max(1, math.ceil(n / batch_size))
    if steps <= 0:
        epochs = max(epochs, math.ceil(min_steps / per_epoch)) if n else 0
        steps = epochs * per_epoch
    total = max(1, steps)
    k = _num_classes(net, x, y, device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    n_syn = 0 if synthetic is None else min(batch_size - 1, round(synthetic.share * batch_size))
    real_bs = batch_size - n_syn
    mix_until = total if synthetic is None else round(total * (1 - synthetic.finetune))
    real_order = _BalancedCycler(y if y.ndim == 1 else y.argmax(1), gen) if balanced and n else _Cycler(n, gen)
    pool_i, pool = -1, None
    autocast = _autocast(device, precision)
    with cpu_threads_for(x, device):
        for step in range(steps if n else 0):
            mixing = n_syn > 0 and step < mix_until
            idx = real_order.take(real_bs if mixing else batch_size)
            xb, tb = x[idx], as_probabilities(y[idx], k)
            if mixup > 0:
                xb, tb = mix_pairs(xb, tb, mixup, gen)
            if relabel is not None:
                tb = relabel(xb)
            weights = torch.ones(len(xb))
            if mixing:
                want = min(synthetic.pools - 1, step * synthetic.pools // max(1, mix_until))
                if want != pool_i:
                    pool_i, (sx, sy) = want, synthetic.pool(want)
                    pool = (sx, as_probabilities(sy, k), _Cycler(len(sx), gen))
                sidx = pool[2].take(n_syn)
                xb = torch.cat([xb, pool[0][sidx]])
                tb = torch.cat([tb, pool[1][sidx]])
                weights = torch.cat([weights, torch.full((n_syn,), float(synthetic.weight))])
            if augment is not None:  # real and synthetic alike, as a dataset wrapper's transform does
                xb = augment(xb, gen)
            if len(xb) < 2:  # BatchNorm needs two samples
                continue
            xb = xb.to(device)
            if xb.ndim == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast():
                logits = net(xb)
            logp = F.log_softmax(logits.float(), 1)
            w = weights.to(device)
            loss = (-(tb.to(device) * logp).sum(1) * w).sum() / w.sum().clamp_min(1e-8)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def _autocast(device: torch.device, precision: str) -> Callable[[], contextlib.AbstractContextManager]:
    """bfloat16 autocast for ``bf16``, or ``auto`` on a CPU with native bfloat16; else no autocast."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision {precision!r} is not accepted; choose auto, fp32 or bf16")
    if precision == "auto":
        from ..training.engine import cpu_has_bf16

        precision = "bf16" if device.type == "cpu" and cpu_has_bf16() else "fp32"
    if precision == "fp32":
        return contextlib.nullcontext
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)


class _Cycler:
    """Indices 0..n-1 in a fresh random order each pass, handed out ``k`` at a time across pass boundaries."""

    def __init__(self, n: int, gen: torch.Generator):
        self.n, self.gen, self.order, self.pos = n, gen, torch.empty(0, dtype=torch.long), 0

    def take(self, k: int) -> torch.Tensor:
        parts = []
        while k > 0 and self.n > 0:
            if self.pos >= len(self.order):
                self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0
            part = self.order[self.pos : self.pos + k]
            self.pos += len(part)
            k -= len(part)
            parts.append(part)
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


class _BalancedCycler:
    """Class-balanced indices: each draw picks a class uniformly, then the next index of that class's own cycle."""

    def __init__(self, labels: torch.Tensor, gen: torch.Generator):
        self.gen = gen
        self.members = [torch.nonzero(labels == c).flatten() for c in torch.unique(labels).tolist()]
        self.cycles = [_Cycler(len(m), gen) for m in self.members]

    def take(self, k: int) -> torch.Tensor:
        counts = torch.bincount(torch.randint(len(self.members), (k,), generator=self.gen), minlength=len(self.members))
        parts = [m[c.take(int(n))] for m, c, n in zip(self.members, self.cycles, counts.tolist(), strict=True) if n]
        return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


def shift_augment(x: torch.Tensor, gen: torch.Generator, rows: bool = True) -> torch.Tensor:
    """A label-safe batch augmentation for any image data: each image, with probability 1/2, shifted by whole pixels
    (up to 1/8 of its size, reflected at the border: no resampling blur); ``rows=False`` shifts along the width only
    (a spectrogram's time axis, where a shift of mel rows would change the pitch)."""
    n, _, h, w = x.shape
    ph, pw = max(1, h // 8) if rows else 0, max(1, w // 8)
    if ph >= h or pw >= w:  # too small to reflect-pad
        return x
    padded = F.pad(x, (pw, pw, ph, ph), mode="reflect")
    move = torch.rand(n, generator=gen) < 0.5
    dy = torch.where(move, torch.randint(0, 2 * ph + 1, (n,), generator=gen), torch.full((n,), ph))
    dx = torch.where(move, torch.randint(0, 2 * pw + 1, (n,), generator=gen), torch.full((n,), pw))
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def beta_draw(alpha: float, gen: torch.Generator | None) -> float:
    """A Beta(alpha, alpha) draw seeded from ``gen`` (torch's global generator when None)."""
    seed = int(torch.randint(2**62, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def mix_pairs(
    x: torch.Tensor, targets: torch.Tensor, alpha: float, gen: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each row with a random other row by one Beta(alpha, alpha) weight for the batch (mixup); ``targets``
    (N x K probabilities) are blended alike. Draws come from ``gen`` (torch's global generator when None)."""
    lam = beta_draw(alpha, gen)
    perm = torch.randperm(len(x), generator=gen)
    return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]


def _num_classes(net: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> int:
    """The width of the net's output (the targets' width for soft labels)."""
    if y.ndim == 2:
        return int(y.shape[1])
    if not len(x):
        return 1
    was = net.training
    with torch.no_grad():
        k = int(net.eval()(x[:1].to(device)).shape[1])
    net.train(was)
    return k


@torch.no_grad()
def predict_proba(net: nn.Module, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Class probabilities, N x K float64."""
    device = next(net.parameters()).device
    net.eval()
    with cpu_threads_for(x, device):
        out = [torch.softmax(net(chunk.to(device)).float(), 1).cpu() for chunk in x.split(batch_size)]
    return torch.cat(out).double().numpy() if out else np.zeros((0, 0))


def seed_everything(seed: int) -> None:
    """Seed torch's global generator (initial weights) for one training."""
    torch.manual_seed(seed)


TIMED_STEPS = 4  # steps timed (after one warm-up step) to fit a classifier's training into a time limit


def epochs_within(
    seconds: float,
    epochs: int,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    trainings: int = 1,
    device: str | torch.device = "cpu",
) -> int:
    """The most epochs (at most ``epochs``, at least 1) whose ``trainings`` trainings of a :class:`SmallResNet` on
    ``x`` fit in ``seconds``, by the time of a few steps of a scratch network. The caller's random state is kept."""
    _, c, h, w = x.shape
    with torch.random.fork_rng(devices=[]):
        net = SmallResNet(c, int(y.max()) + 1, h, w).to(memory_format=torch.channels_last)
        train_classifier(net, x[:64], y[:64], steps=1, device=device, augment=shift_augment)  # warm-up
        start = time.perf_counter()
        train_classifier(net, x, y, steps=TIMED_STEPS, device=device, augment=shift_augment)
        per_step = (time.perf_counter() - start) / TIMED_STEPS
    per_epoch = math.ceil(len(y) / 64)
    return max(1, min(epochs, math.floor(seconds / (per_step * per_epoch * trainings))))
