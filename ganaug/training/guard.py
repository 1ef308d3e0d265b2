"""The content guard: a small classifier trained on a CycleGAN's labelled domain(s), and how often a translation
changes its decision (the rejection rate that ``GANTranslate(..., guard="auto")`` would see).

Images are compared in model space after :func:`guard_input` (channels matched, resized to the guard's size), so the
same guard judges originals and translations of either domain.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..models.cyclegan import GuardClassifier

GUARD_SIDE = 64  # the guard sees images at most this large
_LUMA = (0.299, 0.587, 0.114)


def match_channels(x: Tensor, channels: int) -> Tensor:
    """Model-space N x C x H x W to ``channels``: gray -> RGB repeats, RGB -> gray is luminance, alpha dropped/added."""
    c = x.shape[1]
    if c == channels:
        return x
    if channels == 1:
        rgb = x[:, :3] if c >= 3 else x[:, :1].expand(-1, 3, -1, -1)
        return (rgb * x.new_tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    rgb = x[:, :1].expand(-1, 3, -1, -1) if c == 1 else x[:, :3]
    if channels == 3:
        return rgb.contiguous()
    return torch.cat([rgb, torch.ones_like(x[:, :1])], 1)


def guard_size(height: int, width: int) -> tuple[int, int]:
    scale = min(1.0, GUARD_SIDE / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale))


def guard_input(x: Tensor, guard_config: dict) -> Tensor:
    """Bring model-space images to the guard's channels and size."""
    x = match_channels(x.float(), int(guard_config["channels"]))
    size = tuple(guard_config["size"])
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return x


@torch.no_grad()
def classify(guard: GuardClassifier, guard_config: dict, x: Tensor, batch: int = 64) -> Tensor:
    """Class indices the guard gives model-space images (on the guard's device; returned on the CPU)."""
    device = next(guard.parameters()).device
    out = [
        guard(guard_input(x[i : i + batch].to(device), guard_config)).argmax(1).cpu() for i in range(0, len(x), batch)
    ]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def _augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Flips and per-image brightness/contrast changes, so the guard looks at content more than at style."""
    n = len(x)
    flip = (torch.rand(n, generator=gen) < 0.5).view(-1, 1, 1, 1)
    scale = (torch.rand(n, 1, 1, 1, generator=gen) * 0.6 + 0.7).to(x.device)
    shift = (torch.rand(n, 1, 1, 1, generator=gen) * 0.6 - 0.3).to(x.device)
    x = torch.where(flip.to(x.device), x.flip(-1), x)
    return (x * scale + shift).clamp(-1, 1)


def train_guard(
    images: list[Tensor], labels: list[Tensor], class_names: list[str], steps: int, seed: int, device: torch.device
) -> tuple[GuardClassifier, dict]:
    """Train a :class:`GuardClassifier` on model-space images of one or both domains (same class names)."""
    channels = 3 if any(x.shape[1] >= 3 for x in images) else 1
    h, w = images[0].shape[-2:]
    config = {"channels": channels, "size": list(guard_size(h, w)), "class_names": list(class_names), "width": 32}
    x = torch.cat([guard_input(im, config) for im in images])
    y = torch.cat(labels)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = GuardClassifier(channels, len(class_names), config["width"]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = min(32, len(y))
    for _ in range(steps):
        idx = torch.randint(len(y), (batch,), generator=gen)
        logits = net(_augment(x[idx].to(device), gen))
        loss = F.cross_entropy(logits, y[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval().requires_grad_(False)
    config["train_accuracy"] = round(float((classify(net, config, torch.cat(images)) == y).float().mean()), 4)
    return net, config


def rejection_rate(guard: GuardClassifier, guard_config: dict, originals: Tensor, translated: Tensor) -> float:
    """Fraction of translations the guard classifies differently from their originals."""
    before, after = classify(guard, guard_config, originals), classify(guard, guard_config, translated)
    return float((before != after).float().mean()) if len(before) else 0.0
