"""Class fidelity in the generator: an auxiliary discriminative classifier (ADC-GAN, Hou et al. ICML 2022).

A linear head on the discriminator's pooled features classifies into ``2K`` classes: real images of class ``y`` as
``y`` and generated images of class ``y`` as ``K + y``. The discriminator learns that classification; the generator
is pushed towards "a real image of its class" and away from "a generated image of its class", which keeps the
conditioning from being ignored (a plain projection discriminator lets a generator on small data draw one class's
look for every label). ``--class-loss adc`` turns it on, ``--class-loss-weight`` is the weight of both terms.

Example:
    >>> head = attach_class_head(discriminator, num_classes=2)  # doctest: +SKIP
    >>> loss = class_d_loss(head(h_real), y_real, head(h_fake), y_fake, 2)  # doctest: +SKIP
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanaugError
from ..models.layers import sn

CLASS_LOSSES = ("none", "adc")


def attach_class_head(discriminator: nn.Module, num_classes: int) -> nn.Module:
    """Add ``class_head`` (features -> 2K logits) to ``discriminator``, spectral-normed when its projection head is,
    so that it is saved, averaged over ranks and optimised with the discriminator."""
    head = getattr(discriminator, "head", None)
    linear = getattr(head, "linear", None)
    if not hasattr(discriminator, "features") or linear is None:
        raise GanaugError(
            f"--class-loss adc needs a discriminator with pooled features and a projection head; "
            f"{type(discriminator).__name__} has none (use --arch biggan, dcgan or mlp)"
        )
    spectral = hasattr(linear, "parametrizations") or hasattr(linear, "weight_orig")
    width = linear.in_features
    discriminator.class_head = sn(nn.Linear(width, 2 * num_classes)) if spectral else nn.Linear(width, 2 * num_classes)
    return discriminator.class_head


def class_d_loss(real_logits: Tensor, y_real: Tensor, fake_logits: Tensor, y_fake: Tensor, k: int) -> Tensor:
    """The discriminator's part: real images of class y are class y, generated ones class K + y."""
    return F.cross_entropy(real_logits.float(), y_real) + F.cross_entropy(fake_logits.float(), y_fake + k)


def class_g_loss(fake_logits: Tensor, y: Tensor, k: int) -> Tensor:
    """The generator's part: towards "real, class y", away from "generated, class y"."""
    logits = fake_logits.float()
    return F.cross_entropy(logits, y) - F.cross_entropy(logits, y + k)


def check_class_loss(name: str, weight: float) -> None:
    if name not in CLASS_LOSSES:
        raise GanaugError(f"--class-loss {name!r} is not accepted; choose one of {', '.join(CLASS_LOSSES)}")
    if not weight >= 0:
        raise GanaugError(f"--class-loss-weight must be >= 0, got {weight}")


def parse_cond_ramp(text: str) -> tuple[float, float] | None:
    """``--cond-ramp 'START,END'`` as two fractions of the run (None when empty); a clear error otherwise."""
    if not text:
        return None
    try:
        start, end = (float(v) for v in text.split(","))
    except ValueError:
        hint = "give START,END fractions of the steps, e.g. 0.1,0.4"
        raise GanaugError(f"--cond-ramp {text!r} is not accepted; {hint}") from None
    if not 0 <= start <= end <= 1:
        raise GanaugError(f"--cond-ramp {text!r}: need 0 <= START <= END <= 1")
    return start, end


def cond_scale(ramp: tuple[float, float] | None, step: int, steps: int) -> float:
    """How much of the class input G and D get at ``step`` (0-based) of ``steps``: 0 until START, 1 from END (the
    last step has t = 1, so the exported generator was trained fully conditioned)."""
    if ramp is None:
        return 1.0
    t = step / max(1, steps - 1)
    start, end = ramp
    if t >= end:
        return 1.0
    return 0.0 if t <= start else (t - start) / (end - start)


def set_cond_scale(value: float, *modules: nn.Module) -> None:
    """Write ``value`` into every ``cond_scale`` buffer of ``modules`` (generators and projection heads)."""
    for module in modules:
        for name, buffer in module.named_buffers():
            if name.endswith("cond_scale"):
                buffer.fill_(value)
