"""Export folder: config.json + model.safetensors (EMA generator) + README.md (model card) + samples.png."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..exported import save_exported
from ..fileio import atomic_folder, write_text
from ..hub.card import render_card
from .generator import CONFIG_NAME, WEIGHTS_NAME
from .grid import save_grid

MAX_GRID_ROWS = 16


@torch.no_grad()
def class_grid(net: nn.Module, num_classes: int, latent_dim: int, ncol: int = 8, seed: int = 0) -> torch.Tensor:
    """``ncol`` samples for each of the first 16 classes, class-major, from fixed noise (same noise every call)."""
    from ..models.info import codes_of, latent

    rows = min(num_classes, MAX_GRID_ROWS)
    gen = torch.Generator().manual_seed(seed)
    z = latent(ncol, latent_dim, codes_of(net), gen).repeat(rows, 1)  # with InfoGAN codes: random ones per column
    y = torch.arange(rows).repeat_interleave(ncol)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    out = net(z.to(device), y.to(device)).float().cpu()
    net.train(was_training)
    return out


def write_export(folder: Path, net: nn.Module, config: dict, name: str, ncol: int = 8, teacher=None) -> Path:
    """Write the export folder atomically: built beside ``folder`` and swapped in whole (with the teacher, if any)."""
    with atomic_folder(folder) as tmp:
        if teacher is not None:
            teacher.save(tmp)
        save_exported(tmp, net.state_dict(), CONFIG_NAME, config, WEIGHTS_NAME, {"ganaug_arch": config["arch"]})
        names = config["data"].get("class_names") or []
        grid = class_grid(net, max(1, len(names)), config["arch_args"]["latent_dim"], ncol)
        save_grid(grid, ncol, tmp / "samples.png", row_labels=names if len(names) > 1 else None)
        if config.get("codes"):
            write_traversals(tmp, net, config)
        write_text(tmp / "README.md", render_card(config, name))
    return Path(folder)


def traversal_file(code: str) -> str:
    """The export's traversal grid of an InfoGAN code (``traversal-u0.png``)."""
    return f"traversal-{code}.png"


def write_traversals(folder: Path, net: nn.Module, config: dict) -> list[Path]:
    """One traversal grid per InfoGAN code (``Generator.traversal``): a row per class, a column per value."""
    from .generator import Generator

    was_training = net.training
    g = Generator(net, config)
    paths = []
    for spec in g.codes:
        images, ncol, labels = g.traversal(spec.name)
        paths.append(save_grid(images, ncol, folder / traversal_file(spec.name), row_labels=labels))
    net.train(was_training).requires_grad_(True)
    return paths
