"""InfoGAN's mutual-information term (Chen et al. 2016): a Q head on the discriminator's features and its loss.

Q shares the discriminator's body: one linear layer on D's pooled features gives, per sample, the logits of every
categorical code and the mean of every continuous code (a Gaussian with a fixed unit standard deviation). The loss
is the lower bound of the mutual information, negated: cross-entropy for categorical codes, the Gaussian negative
log-likelihood (``0.5 * (c - mean)^2``, constant dropped) for continuous ones, summed over codes. It is added with
weight ``--info-weight`` (lambda, 1 by default as in the paper) to both networks' losses: the discriminator's on
the generated batch of its phase (training Q and the shared body), the generator's on its own batch.

Q's parameters live in the discriminator (``D.info_head``), so they are saved with it, averaged over ranks with it
and stepped by the discriminator's optimiser, as the shared body is.

Example:
    >>> head = attach_info_head(discriminator, parse_codes("cat:10,cont:2"))  # doctest: +SKIP
    >>> loss = info_loss(head(D.features(fake)), z[:, latent_dim:], specs)  # doctest: +SKIP
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanaugError
from ..models.info import CodeSpec, split_targets
from ..models.layers import sn


def attach_info_head(discriminator: nn.Module, specs: list[CodeSpec]) -> nn.Module:
    """Add ``info_head`` (features -> categorical logits and continuous means) to ``discriminator``, spectral-normed
    when its projection head is."""
    head = getattr(discriminator, "head", None)
    linear = getattr(head, "linear", None)
    if not hasattr(discriminator, "features") or linear is None:
        raise GanaugError(
            f"--info-codes needs a discriminator with pooled features and a projection head; "
            f"{type(discriminator).__name__} has none (use --arch biggan, dcgan or mlp)"
        )
    spectral = hasattr(linear, "parametrizations") or hasattr(linear, "weight_orig")
    width = sum(s.width for s in specs)
    out = nn.Linear(linear.in_features, width)
    discriminator.info_head = sn(out) if spectral else out
    return discriminator.info_head


def info_loss(q: Tensor, codes: Tensor, specs: list[CodeSpec]) -> Tensor:
    """The mutual-information loss of Q's outputs ``q`` against the encoded codes the samples were drawn with."""
    q = q.float()
    total = q.new_zeros(())
    start = 0
    for spec, target in split_targets(codes.to(q.device), specs):
        block = q[:, start : start + spec.width]
        if spec.kind == "categorical":
            total = total + F.cross_entropy(block, target)
        else:
            total = total + 0.5 * (block[:, 0] - target.float()).pow(2).mean()
        start += spec.width
    return total


def info_accuracy(q: Tensor, codes: Tensor, specs: list[CodeSpec]) -> float:
    """The share of categorical codes Q recovers (1 when there is no categorical code)."""
    hits, n, start = 0.0, 0, 0
    for spec, target in split_targets(codes.to(q.device), specs):
        if spec.kind == "categorical":
            hits += float((q[:, start : start + spec.width].argmax(dim=1) == target).float().mean())
            n += 1
        start += spec.width
    return hits / n if n else 1.0


def check_info_weight(weight: float) -> None:
    if not weight >= 0:
        raise GanaugError(f"--info-weight must be >= 0, got {weight}")
