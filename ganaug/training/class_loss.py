"""Class fidelity in the generator: an auxiliary classifier on the discriminator's pooled features.

``--class-loss adc`` (ADC-GAN, Hou et al. ICML 2022): a linear head classifies into ``2K`` classes, real images of
class ``y`` as ``y`` and generated images of class ``y`` as ``K + y``. The discriminator learns that classification;
the generator is pushed towards "a real image of its class" and away from "a generated image of its class", which
keeps the conditioning from being ignored (a plain projection discriminator lets a generator on small data draw one
class's look for every label).

``--class-loss d2dce`` (ReACGAN, Kang et al. NeurIPS 2021): a linear head embeds the features on the unit sphere and a
learned proxy per class sits beside them; the data-to-data cross-entropy pulls a sample's embedding towards its
class's proxy (up to the margin ``D2D_MARGIN``) and pushes it away from the other classes' samples in the batch, at
temperature ``D2D_TEMPERATURE``. The discriminator learns it on real images, the generator on its own; unlike a
plain auxiliary classifier it compares samples with each other, which keeps its gradients from vanishing on an easy
classification. ``--class-loss-weight`` is the weight of both networks' terms.

Example:
    >>> head = attach_class_head(discriminator, num_classes=2)  # doctest: +SKIP
    >>> loss = class_d_loss(head(h_real), y_real, head(h_fake), y_fake, 2)  # doctest: +SKIP
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanaugError
from ..models.layers import sn

CLASS_LOSSES = ("none", "adc", "d2dce")
D2D_TEMPERATURE = 0.5  # ReACGAN's defaults
D2D_MARGIN = 0.98


class ProxyHead(nn.Module):
    """``--class-loss d2dce``: features -> an embedding, and one learned proxy per class (``proxy(y)``)."""

    def __init__(self, width: int, num_classes: int, spectral: bool):
        super().__init__()
        self.embed = sn(nn.Linear(width, width)) if spectral else nn.Linear(width, width)
        self.proxy = nn.Embedding(num_classes, width)

    def forward(self, h: Tensor) -> Tensor:
        return self.embed(h)


def attach_class_head(discriminator: nn.Module, num_classes: int, kind: str = "adc") -> nn.Module:
    """Add ``class_head`` to ``discriminator`` (adc: features -> 2K logits; d2dce: a :class:`ProxyHead`),
    spectral-normed when its projection head is, so that it is saved, averaged over ranks and optimised with the
    discriminator."""
    head = getattr(discriminator, "head", None)
    linear = getattr(head, "linear", None)
    if not hasattr(discriminator, "features") or linear is None:
        raise GanaugError(
            f"--class-loss {kind} needs a discriminator with pooled features and a projection head; "
            f"{type(discriminator).__name__} has none (use --arch biggan, dcgan or mlp)"
        )
    spectral = hasattr(linear, "parametrizations") or hasattr(linear, "weight_orig")
    width = linear.in_features
    if kind == "d2dce":
        discriminator.class_head = ProxyHead(width, num_classes, spectral)
    else:
        linear = nn.Linear(width, 2 * num_classes)
        discriminator.class_head = sn(linear) if spectral else linear
    return discriminator.class_head


def class_d_loss(real_logits: Tensor, y_real: Tensor, fake_logits: Tensor, y_fake: Tensor, k: int) -> Tensor:
    """The discriminator's part: real images of class y are class y, generated ones class K + y."""
    return F.cross_entropy(real_logits.float(), y_real) + F.cross_entropy(fake_logits.float(), y_fake + k)


def class_g_loss(fake_logits: Tensor, y: Tensor, k: int) -> Tensor:
    """The generator's part: towards "real, class y", away from "generated, class y"."""
    logits = fake_logits.float()
    return F.cross_entropy(logits, y) - F.cross_entropy(logits, y + k)


def d2d_ce(embed: Tensor, proxy: Tensor, labels: Tensor, temperature: float = D2D_TEMPERATURE,
           margin: float = D2D_MARGIN) -> Tensor:  # fmt: skip
    """The data-to-data cross-entropy of ``embed`` (N x E) with each row's class proxy ``proxy`` (N x E): per row,
    ``-log(e^-a / (e^-a + sum over other-class rows j of e^relu(s_j)))`` with ``a = relu((margin - cos(embed,
    proxy)) / temperature)`` and ``s_j = (cos(embed, embed_j) + margin - 1) / temperature``; rows of the same class
    are not negatives. Computed as a log-sum-exp, so it is stable at any temperature."""
    e = F.normalize(embed.float(), dim=1)
    attract = F.relu((margin - (e * F.normalize(proxy.float(), dim=1)).sum(1)) / temperature)
    sims = F.relu((e @ e.T + margin - 1) / temperature)
    negative = labels[:, None] != labels[None, :]  # the diagonal is never a negative
    terms = torch.cat([-attract[:, None], sims.masked_fill(~negative, float("-inf"))], dim=1)
    return (attract + torch.logsumexp(terms, dim=1)).mean()


def class_terms(kind: str, head: nn.Module, out: Tensor, y: Tensor, k: int, fake_out=None, y_fake=None,
                generator: bool = False) -> Tensor:  # fmt: skip
    """One network's class-fidelity term: the discriminator's (``out`` of real images; adc also takes the generated
    ``fake_out``) or, with ``generator``, the generator's (``out`` of its images)."""
    if kind == "d2dce":
        return d2d_ce(out, head.proxy(y), y)
    if generator:
        return class_g_loss(out, y, k)
    return class_d_loss(out, y, fake_out, y_fake, k)


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
