"""GAN losses (``bce``, ``hinge``, ``lsgan``, ``wgan-gp``, ``wgan-clip``), the gradient penalties and ProGAN's drift.

Each loss is a class with ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)`` (scalars, computed in
float32 whatever the logits' dtype) and the class attributes the loop reads: ``d_steps`` (default discriminator
updates per generator update), ``gradient_penalty`` (add :func:`gradient_penalty`) and ``weight_clip`` (clip D's
weights after each step). Penalties are returned unweighted; the caller multiplies by its weight.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..builders import register_loss


class GANLoss:
    """Base class: subclasses define ``d_loss`` and ``g_loss``.

    Example:
        >>> loss = BCELoss()
        >>> float(loss.g_loss(torch.zeros(4)))  # -log(sigmoid(0)) = log 2
        0.6931...
    """

    name = ""
    d_steps = 1
    gradient_penalty = False
    weight_clip = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@register_loss("bce", "non-saturating GAN: L_D = -log D(x) - log(1 - D(G(z))), L_G = -log D(G(z))")
class BCELoss(GANLoss):
    """Non-saturating loss of Goodfellow et al., computed stably with softplus: ``-log sigmoid(t) = softplus(-t)``.

    Example:
        >>> BCELoss().d_loss(torch.tensor([3.0]), torch.tensor([-3.0])) < 0.1
        tensor(True)
    """

    name = "bce"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return F.softplus(-fake_logits.float()).mean()


@register_loss("hinge", "hinge loss (SAGAN/BigGAN): L_D = relu(1 - D(x)) + relu(1 + D(G(z))), L_G = -D(G(z))")
class HingeLoss(GANLoss):
    """Hinge loss of Lim & Ye / Miyato et al., the BigGAN default.

    Example:
        >>> HingeLoss().d_loss(torch.tensor([2.0]), torch.tensor([-2.0]))
        tensor(0.)
    """

    name = "hinge"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


@register_loss("lsgan", "least squares (Mao et al.): targets 1 for real and 0 for fake")
class LSGANLoss(GANLoss):
    """Least-squares GAN: ``L_D = 1/2 E(D(x)-1)^2 + 1/2 E D(G(z))^2``, ``L_G = 1/2 E(D(G(z))-1)^2``.

    Example:
        >>> LSGANLoss().g_loss(torch.tensor([1.0]))
        tensor(0.)
    """

    name = "lsgan"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return 0.5 * (real_logits.float() - 1.0).pow(2).mean() + 0.5 * fake_logits.float().pow(2).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits.float() - 1.0).pow(2).mean()


class _Wasserstein(GANLoss):
    d_steps = 5

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().mean() - real_logits.float().mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


@register_loss("wgan-gp", "Wasserstein loss with gradient penalty (Gulrajani et al.), 5 D steps per G step")
class WGANGPLoss(_Wasserstein):
    """WGAN-GP: ``L_D = E D(G(z)) - E D(x)`` plus the caller's ``gp_weight * gradient_penalty(...)``.

    Example:
        >>> WGANGPLoss().d_loss(torch.tensor([1.0]), torch.tensor([0.0]))
        tensor(-1.)
    """

    name = "wgan-gp"
    gradient_penalty = True


@register_loss("wgan-clip", "Wasserstein loss with weight clipping (Arjovsky et al.), 5 D steps per G step")
class WGANClipLoss(_Wasserstein):
    """WGAN with weight clipping: the caller clamps D's parameters to ``[-clip_value, clip_value]`` after each step.

    Example:
        >>> WGANClipLoss().g_loss(torch.tensor([2.0]))
        tensor(-2.)
    """

    name = "wgan-clip"
    weight_clip = True


def _batch_view(t: Tensor, like: Tensor) -> Tensor:
    return t.reshape(-1, *([1] * (like.dim() - 1)))


def gradient_penalty(
    D: Callable[[Tensor, Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    y: Tensor,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty ``E (||grad_x D(x_hat, y)|| - 1)^2`` on random interpolates ``x_hat`` of real and fake.

    The mixing weights are drawn on the CPU from ``generator`` (the global CPU RNG if None) and moved to the
    images' device, so a seeded run is reproducible on any device. The graph is kept (``create_graph``) so the
    penalty can be backpropagated into D. Unweighted: multiply by ``gp_weight``.

    Example:
        >>> D = lambda x, y: x.flatten(1).sum(1)  # gradient of norm sqrt(numel) per sample
        >>> float(gradient_penalty(D, torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2), torch.zeros(2).long()))
        1.0
    """
    alpha = torch.rand(real.shape[0], generator=generator).to(device=real.device, dtype=real.dtype)
    alpha = _batch_view(alpha, real)
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    out = D(x_hat, y)
    if out.requires_grad:
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True, allow_unused=True, materialize_grads=True)
    else:  # a D that ignores its input: zero gradient, penalty 1
        grad = torch.zeros_like(x_hat)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return (norms - 1.0).pow(2).mean()


def r1_penalty(real_logits: Tensor, real_images: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): ``0.5 * E ||grad_x D(x)||^2`` on real images, NOT multiplied by gamma.

    ``real_images`` must have had ``requires_grad_(True)`` before ``real_logits = D(real_images, y)``; logits that
    do not depend on the images give 0. Under a gradient scaler pass unscaled logits.

    Example:
        >>> x = torch.ones(3, 1, 2, 2, requires_grad=True)
        >>> float(r1_penalty((2 * x).flatten(1).sum(1), x))  # 0.5 * 4 * 4
        8.0
    """
    if not real_images.requires_grad:
        raise ValueError("r1_penalty needs real_images.requires_grad_(True) before the discriminator's forward pass")
    if not real_logits.requires_grad:
        return real_logits.new_zeros((), dtype=torch.float32)
    (grad,) = torch.autograd.grad(
        real_logits.sum(), real_images, create_graph=True, allow_unused=True, materialize_grads=True
    )
    return 0.5 * grad.float().flatten(1).pow(2).sum(dim=1).mean()


DRIFT_EPSILON = 0.001  # ProGAN's drift weight (Karras et al. 2018), the default of --progan-drift with wgan-gp


def drift_penalty(real_logits: Tensor) -> Tensor:
    """ProGAN's drift term ``E D(x)^2`` on real logits, NOT multiplied by epsilon: a Wasserstein loss sees only the
    difference of D's outputs on real and fake, so without it they may drift far from 0 together.

    Example:
        >>> float(drift_penalty(torch.tensor([1.0, -2.0, 3.0])))  # (1 + 4 + 9) / 3
        4.666...
    """
    return real_logits.float().pow(2).mean()
