"""Memorisation check: is a synthetic sample closer to a training sample than real unseen samples ever are?

Distances are Euclidean in model-space pixels (copying is a pixel matter; a classifier's features put distinct
images of one class close together). For each synthetic sample the distance to its nearest training sample is set
against the same distance for held-out real samples; a synthetic sample nearer than half the held-out 5th
percentile is a suspected copy, and the closest pairs are kept as an image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def nearest(queries: torch.Tensor, reference: torch.Tensor, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to, and index of, each query's nearest reference sample (flattened Euclidean)."""
    ref = reference.flatten(1).float()
    dists, idx = [], []
    for q in queries.flatten(1).float().split(chunk):
        d = torch.cdist(q, ref, compute_mode="donot_use_mm_for_euclid_dist")  # exact: a copy is at 0
        m = d.min(1)
        dists.append(m.values)
        idx.append(m.indices)
    if not dists:
        return torch.empty(0), torch.empty(0, dtype=torch.long)
    return torch.cat(dists), torch.cat(idx)


def memorisation(
    synthetic: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor, pairs: int = 8
) -> tuple[dict, torch.Tensor]:
    """The check's figures and a 2 x ``pairs`` image batch (synthetic on top, its nearest training sample below).

    Example:
        >>> report, pair_images = memorisation(fake, real_train, real_test)  # doctest: +SKIP
        >>> report["suspected_copies"], report["ratio"]  # doctest: +SKIP
    """
    d_fake, i_fake = nearest(synthetic, train)
    d_held, _ = nearest(heldout, train)
    scale = float(train.flatten(1).float().norm(dim=1).mean()) if len(train) else 1.0
    held_q05 = float(np.quantile(d_held.numpy(), 0.05)) if len(d_held) else 0.0
    threshold = max(0.5 * held_q05, 1e-6 * max(scale, 1.0))
    suspects = int((d_fake <= threshold).sum())
    med_fake = float(d_fake.median()) if len(d_fake) else float("nan")
    med_held = float(d_held.median()) if len(d_held) else float("nan")
    report = {
        "space": "pixels",
        "median_nn_synthetic": med_fake,
        "median_nn_heldout": med_held,
        "ratio": med_fake / med_held if med_held > 0 else None,
        "threshold": threshold,
        "suspected_copies": suspects,
        "suspected_fraction": suspects / max(1, len(d_fake)),
        "flag": suspects > 0,
        "n_synthetic": int(len(d_fake)),
        "n_heldout": int(len(d_held)),
    }
    order = torch.argsort(d_fake)[:pairs]
    report["closest"] = [{"synthetic": int(i), "train": int(i_fake[i]), "distance": float(d_fake[i])} for i in order]
    top = synthetic[order]
    bottom = train[i_fake[order]] if len(train) else top
    return report, torch.cat([top, bottom])


def save_pairs(images: torch.Tensor, path: str | Path) -> Path:
    """Write the pair images from :func:`memorisation` as a 2-row PNG grid."""
    from ..generation.grid import save_grid

    return save_grid(images, max(1, len(images) // 2), path)
