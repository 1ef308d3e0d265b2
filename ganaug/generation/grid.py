"""Sample grids as PNG: one row per class, cells upscaled so small images stay visible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..fileio import atomic_write


def grid_image(images: torch.Tensor, ncol: int, min_cell: int = 48, pad: int = 2) -> np.ndarray:
    """Tile N x C x H x W model-space images (row-major, ``ncol`` per row) into an 8-bit HxWxC array."""
    from torchvision.utils import make_grid

    x = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5)
    h, w = x.shape[-2:]
    scale = max(1, int(np.ceil(min_cell / max(1, min(h, w)))))
    if scale > 1:
        x = torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
    c = x.shape[1]
    if c == 1:
        x = x.expand(-1, 3, -1, -1)
    grid = make_grid(x[:, : max(3, c)], nrow=ncol, padding=pad, pad_value=255.0)
    arr = grid.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return arr if c != 1 else arr[..., :1]


def save_grid(
    images: torch.Tensor,
    ncol: int,
    path: str | Path,
    min_cell: int = 48,
    row_labels: list[str] | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`grid_image` as a PNG, atomically; ``row_labels`` (one per row: the class names) are written in a
    margin on the left, a ``title`` (e.g. a growing network's stage) in a margin on top."""
    from PIL import Image

    arr = grid_image(images, ncol, min_cell)
    img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if row_labels:
        img = _label_rows(img, [str(t) for t in row_labels])
    if title:
        img = _title(img, title)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def _title(img, text: str):
    """``img`` with a white margin on top holding ``text``."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    white = 255 if img.mode == "L" else (255,) * len(img.mode)
    width = max(img.width, 8 + int(ImageDraw.Draw(img).textlength(text, font=font)))
    out = Image.new(img.mode, (width, img.height + 18), white)
    out.paste(img, (0, 18))
    ImageDraw.Draw(out).text((4, 3), text, fill=0 if img.mode == "L" else (0,) * len(img.mode), font=font)
    return out


def _label_rows(img, labels: list[str]):
    """``img`` with a white margin on the left holding one label per row (cut to 24 characters)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    texts = [t if len(t) <= 24 else t[:23] + "…" for t in labels]
    draw = ImageDraw.Draw(img)
    margin = 8 + max(int(draw.textlength(t, font=font)) for t in texts)
    out = Image.new(img.mode, (img.width + margin, img.height), 255 if img.mode == "L" else (255,) * len(img.mode))
    out.paste(img, (margin, 0))
    pen = ImageDraw.Draw(out)
    row_h = img.height / len(texts)
    for i, text in enumerate(texts):
        pen.text((4, int(row_h * (i + 0.5)) - 6), text, fill=0 if img.mode == "L" else (0,) * len(img.mode), font=font)
    return out
