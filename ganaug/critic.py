"""The run's own discriminator as a judge of synthetic samples (``ganaug evaluate --filters discriminator``).

An export holds only the generator, so the discriminator comes from the newest checkpoint of a run folder. Its
score ``D(x, class)`` is higher for samples it takes for real ones of that class; the filter keeps the highest.

Example:
    >>> critic = load_critic("runs/breast", "biggan", arch_args)  # doctest: +SKIP
    >>> critic.scores(images, 0).shape  # doctest: +SKIP
    torch.Size([64])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .errors import GanaugError


class Critic:
    """A trained conditional discriminator in eval mode on the CPU; ``scores(x, c)`` rates model-space images."""

    def __init__(self, net: torch.nn.Module, step: int, source: str):
        self.net, self.step, self.source = net.eval(), step, source

    @torch.no_grad()
    def scores(self, x: torch.Tensor, c: int, batch: int = 256) -> torch.Tensor:
        out = []
        for i in range(0, len(x), batch):
            chunk = x[i : i + batch].float()
            out.append(self.net(chunk, torch.full((len(chunk),), int(c), dtype=torch.long)).float().flatten())
        return torch.cat(out) if out else torch.empty(0)


def load_critic(model: Any, arch: str, arch_args: dict) -> Critic:
    """The discriminator (``arch`` with ``arch_args``, as in the run's export) of the newest checkpoint of a run
    folder ``model``; anything else is a clear error."""
    from .registry import build_discriminator
    from .training.checkpoint import latest_checkpoint, load_checkpoint, load_module

    hint = "exports and Hub models hold only the generator; pass the run folder `ganaug fit` made"
    path = Path(model) if isinstance(model, (str, Path)) else None
    if path is None or not (path / "fit_config.json").is_file():
        raise GanaugError(f"the discriminator filter needs a run folder with a checkpoint, not {model!r}: {hint}")
    ckpt = latest_checkpoint(path)
    if ckpt is None:
        raise GanaugError(f"run {str(path)!r} has no complete checkpoint yet, so no discriminator to filter with")
    tensors, meta = load_checkpoint(ckpt)
    net = build_discriminator(arch, arch_args)
    try:
        load_module("D", net, tensors)
    except (RuntimeError, KeyError) as exc:
        raise GanaugError(f"checkpoint {ckpt} holds no discriminator for {arch!r} ({exc})") from exc
    return Critic(net, int(meta.get("step", 0)), str(ckpt))
