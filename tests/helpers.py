"""Small shared helpers for the tests (tiny datasets written to disk, the CLI runner)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
EXPORT_FILES = ["README.md", "config.json", "model.safetensors", "samples.png", "teacher.json", "teacher.safetensors"]
"""What an export folder of a class-conditional run holds, sorted."""
TINY = {"arch": "dcgan", "ch": 8, "batch_size": 8, "latent_dim": 16, "teacher_epochs": 0}
"""Options of a tiny, fast fit; no teacher (the tests that need one ask for it)."""


def write_class_folder(root: Path, classes: dict[str, int], size: int = 8, mode: str = "L", seed: int = 0) -> Path:
    """Class folders of random-but-class-distinct PNGs: class k is bright in band k."""
    rng = np.random.default_rng(seed)
    for k, (name, count) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = rng.integers(0, 60, size=(size, size), dtype=np.uint8)
            band = size // max(1, len(classes))
            img[k * band : (k + 1) * band, :] = 230
            if mode == "RGB":
                img = np.stack([img, img[::-1], img.T], axis=-1)
            Image.fromarray(img).save(folder / f"{i:03d}.png")
    return root


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m ganaug ARGS`` in a fresh process and return the finished process."""
    full_env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ganaug", *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )
