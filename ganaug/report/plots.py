"""Pictures for the report, each returned as PNG bytes (matplotlib with the Agg backend, Pillow for grids)."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch


def _figure(width: float = 7, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    return plt, fig, ax


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def grid_png(images: torch.Tensor, ncol: int, min_cell: int = 40) -> bytes:
    """Model-space images tiled as a PNG (see :func:`ganaug.generation.grid.grid_image`)."""
    from PIL import Image

    from ..generation.grid import grid_image

    arr = grid_image(images, ncol, min_cell)
    buffer = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(buffer, format="PNG")
    return buffer.getvalue()


def loss_curves(records: list[dict]) -> bytes | None:
    """Discriminator and generator losses, with the augmentation strength on a second axis."""
    records = [r for r in records if "loss_d" in r]
    if not records:
        return None
    plt, fig, ax = _figure()
    steps = [r["step"] for r in records]
    ax.plot(steps, [r["loss_d"] for r in records], label="discriminator", lw=1)
    ax.plot(steps, [r["loss_g"] for r in records], label="generator", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax2 = ax.twinx()
    ax2.plot(steps, [r.get("augment_p", 0) for r in records], color="gray", ls="--", lw=1, label="augment p")
    ax2.set_ylabel("augmentation strength p")
    ax2.set_ylim(0, 1)
    ax2.legend(loc="upper right")
    return _png(plt, fig)


def metric_curves(records: list[dict]) -> bytes | None:
    """FID over training (``fit --eval-every``), named after its extractor."""
    records = [r for r in records if r.get("fid") is not None]
    if not records:
        return None
    plt, fig, ax = _figure()
    ax.plot([r["step"] for r in records], [r["fid"] for r in records], marker="o", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel(f"FID ({records[-1].get('extractor', '?')})")
    ax.grid(alpha=0.3)
    return _png(plt, fig)


def embed_2d(features: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, str]:
    """N x 2 coordinates of ``features`` by ``"pca"`` or ``"tsne"`` (scikit-learn), and a label naming the method.

    t-SNE first reduces to at most 50 dimensions with PCA; its perplexity is 30, or (N - 1) / 3 for small N."""
    from sklearn.decomposition import PCA

    both = np.asarray(features, dtype=np.float64)
    n = len(both)
    dims = min(2, both.shape[1] if both.ndim == 2 else 0, n)
    if method == "tsne" and n >= 4 and dims >= 1:
        from sklearn.manifold import TSNE

        if both.shape[1] > 50 and n > 50:
            both = PCA(n_components=50, random_state=seed).fit_transform(both)
        perplexity = float(min(30.0, (n - 1) / 3))
        init = "pca" if both.shape[1] >= 2 else "random"
        tsne = TSNE(2, perplexity=perplexity, init=init, learning_rate="auto", random_state=seed)
        return tsne.fit_transform(both), f"t-SNE (perplexity {perplexity:.3g})"
    if method == "tsne":
        raise ValueError(f"t-SNE needs at least 4 samples with features, got {n}")
    xy = PCA(n_components=dims).fit_transform(both) if dims >= 1 else np.zeros((n, 2))
    if xy.shape[1] < 2:
        xy = np.concatenate([xy, np.zeros((len(xy), 2 - xy.shape[1]))], 1)
    return xy, "PCA"


def feature_scatter(
    real: np.ndarray,
    real_y: np.ndarray,
    fake: np.ndarray,
    fake_y: np.ndarray,
    names: list[str],
    space: str,
    method: str = "pca",
    seed: int = 0,
) -> bytes:
    """A 2-D PCA or t-SNE (``method``) of real (dots) and synthetic (crosses) features, coloured by class."""
    xy, label = embed_2d(np.concatenate([real, fake]), method, seed)
    plt, fig, ax = _figure(6.5, 4.5)
    colors = plt.get_cmap("tab10")
    r, f = xy[: len(real)], xy[len(real) :]
    for c, name in enumerate(names[:10]):
        ax.scatter(*r[real_y == c].T, s=12, color=colors(c), alpha=0.6, label=f"{name} real")
        ax.scatter(*f[fake_y == c].T, s=18, color=colors(c), marker="x", label=f"{name} synthetic")
    ax.set_title(f"{label} of {space}: dots real, crosses synthetic", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="best")
    ax.grid(alpha=0.3)
    return _png(plt, fig)
