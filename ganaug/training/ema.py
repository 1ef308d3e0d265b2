"""The EMA generator: an exponential moving average of the generator's weights, the one that is exported."""

from __future__ import annotations

import copy
import time

import torch
from torch import nn


class EMA:
    """Keeps ``shadow`` = decay * shadow + (1 - decay) * weights, with a warm-up so early steps are not frozen.

    Buffers (BatchNorm statistics, spectral-norm vectors) are copied as they are.

    Example:
        >>> ema = EMA(torch.nn.Linear(2, 2), decay=0.999)
        >>> ema.update(step=1)
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.model = model
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, step: int) -> None:
        # warm-up as in BigGAN/StyleGAN: the effective decay grows with the step count
        decay = min(self.decay, (1 + step) / (10 + step))
        shadow = list(self.shadow.parameters())
        torch._foreach_lerp_(shadow, [p.detach() for p in self.model.parameters()], 1.0 - decay)
        for s, b in zip(self.shadow.buffers(), self.model.buffers(), strict=True):
            s.copy_(b)


RECALIBRATION_BATCHES = 16


@torch.no_grad()
def recalibrate_batchnorm(
    generator: nn.Module,
    num_classes: int,
    latent_dim: int,
    device: torch.device,
    batches: int = RECALIBRATION_BATCHES,
    batch: int = 64,
    deadline: float | None = None,
) -> int:
    """Re-estimate BatchNorm running statistics for the EMA weights (BigGAN's "standing statistics"); returns the
    number of batches measured.

    The EMA's copied statistics belong to the raw generator's weights; this measures the EMA's own, so
    samples drawn in eval mode (one at a time, in any batch size) match what training saw. ``deadline`` (a
    ``time.perf_counter()`` value, from a ``--max-time`` budget) stops it after the batch that reaches it: at least
    one batch is measured.
    """
    bns = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    saved = [(m.momentum, m.training) for m in bns]
    from ..models.info import codes_of, latent

    codes = codes_of(generator)  # InfoGAN codes, drawn as in training (none: the noise alone, as before)
    gen = torch.Generator().manual_seed(12345)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
        m.train()
    done = 0
    while done < batches and (done == 0 or deadline is None or time.perf_counter() < deadline):
        z = latent(batch, latent_dim, codes, gen).to(device)
        y = torch.randint(0, num_classes, (batch,), generator=gen).to(device)
        generator(z, y)
        done += 1
    for m, (momentum, training) in zip(bns, saved, strict=True):
        m.momentum = momentum
        m.train(training)
    return done
