"""Helpers shared by the CycleGAN tests: tiny two-domain folders and one tiny translator trained once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# tiny networks: 16x16 images, 4 base channels, one residual block, a short guard training
TINY_CG = {
    "task": "cyclegan",
    "ch": 4,
    "cyclegan_blocks": 1,
    "batch_size": 2,
    "cyclegan_guard_steps": 20,
    "sample_every": 100,
    "progress": False,
}
_TRAINED: dict[str, Path] = {}


def write_domain(
    root: Path, n: int, channels: int, classes: tuple[str, ...] = (), size: int = 16, seed: int = 0
) -> Path:
    """``root/<file>.png`` (unlabelled) or ``root/<class>/<file>.png``; class k is bright in its k-th band of rows."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        k = i % max(1, len(classes))
        img = rng.integers(0, 80, (size, size, channels), dtype=np.uint8)
        band = size // max(1, len(classes))
        img[k * band : (k + 1) * band] += 150
        folder = root / classes[k] if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[..., 0] if channels == 1 else img).save(folder / f"img_{i:03d}.png")
    return root


def tiny_cyclegan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run folder of a CycleGAN between gray A (labelled: classes top/bottom) and RGB B (unlabelled), trained once."""
    if "gray2rgb" not in _TRAINED:
        import ganaug

        root = tmp_path_factory.mktemp("cyclegan")
        a = write_domain(root / "A", 8, 1, classes=("top", "bottom"))
        b = write_domain(root / "B", 6, 3, seed=1)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            run = ganaug.fit([a, b], **TINY_CG, steps=3, out=root / "runs", name="gray2rgb")
        finally:
            torch.set_num_threads(threads)
        _TRAINED["gray2rgb"] = run.path
    return _TRAINED["gray2rgb"]


@pytest.fixture
def one_thread():
    """Tiny networks on a shared 2-core machine: one thread avoids OpenMP contention (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
