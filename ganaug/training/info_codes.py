"""InfoGAN's mutual-information term (Chen et al. 2016): a Q head on the discriminator's features and its loss.

Q shares the discriminator's body. It reads D's last feature map before D pools it (a sum over space loses where
strokes are, which is what a digit's identity or a rotation is made of): the map is averaged down to at most 4 x 4,
flattened, and a small MLP (a hidden layer of 128 with LeakyReLU, as in the paper's Q) gives per sample the logits of
every categorical code and the mean of every continuous code (a Gaussian with a fixed unit standard deviation). The loss
is the lower bound of the mutual information, negated: cross-entropy for categorical codes, the Gaussian negative
log-likelihood (``0.5 * (c - mean)^2``, constant dropped) for continuous ones, summed over codes. It is added with
weight ``--info-weight`` (lambda, 1 by default as in the paper) to both networks' losses: the discriminator's on
the generated batch of its phase (training Q and the shared body), the generator's on its own batch.

Q's parameters live in the discriminator (``D.info_head``), so they are saved with it, averaged over ranks with it
and stepped by the discriminator's optimiser, as the shared body is.

Example:
    >>> head = attach_info_head(D, parse_codes("cat:10,cont:2"), (1, 28, 28))  # doctest: +SKIP
    >>> loss = info_loss(head(D.feature_map(fake)), z[:, latent_dim:], specs)  # doctest: +SKIP
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GanaugError
from ..models.info import CodeSpec, split_targets

Q_GRID = 4  # the feature map is averaged down to at most Q_GRID x Q_GRID cells before Q's MLP
Q_HIDDEN = 128


class InfoHead(nn.Module):
    """Q: D's feature map (``N x C x H x W``, or ``N x C`` for a network without one) -> ``N x width`` code outputs.

    Example:
        >>> InfoHead(8, 6, grid=(2, 2))(torch.randn(3, 8, 7, 7)).shape
        torch.Size([3, 6])
    """

    def __init__(self, channels: int, width: int, grid: tuple[int, int] | None = None, hidden: int = Q_HIDDEN):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(grid) if grid else nn.Identity()
        cells = grid[0] * grid[1] if grid else 1
        self.mlp = nn.Sequential(nn.Linear(channels * cells, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, width))

    def forward(self, fmap: Tensor) -> Tensor:
        return self.mlp(self.pool(fmap).flatten(1))


def attach_info_head(discriminator: nn.Module, specs: list[CodeSpec], image_shape: tuple[int, int, int]) -> nn.Module:
    """Add ``info_head`` (Q, an :class:`InfoHead` on D's ``feature_map``) to ``discriminator``, for images of
    ``image_shape`` (channels, height, width)."""
    if not hasattr(discriminator, "feature_map") or getattr(discriminator, "head", None) is None:
        raise GanaugError(
            f"--info-codes needs a discriminator with a feature map and a projection head; "
            f"{type(discriminator).__name__} has none (use --arch biggan, dcgan or mlp)"
        )
    was_training = discriminator.training
    discriminator.eval()  # the shape of the map, without touching BatchNorm's running statistics
    with torch.no_grad():
        fmap = discriminator.feature_map(torch.zeros(1, *image_shape))
    discriminator.train(was_training)
    grid = (min(Q_GRID, fmap.shape[2]), min(Q_GRID, fmap.shape[3])) if fmap.ndim == 4 else None
    discriminator.info_head = InfoHead(fmap.shape[1], sum(s.width for s in specs), grid)
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
