"""The seeds an interrupted ``evaluate`` had finished, kept so that running it again does not train them again.

Every arm is trained once per seed, and a seed's trainings depend only on the seed and on the evaluation's inputs.
As each seed ends, its scores (JSON) and test probabilities (safetensors) are written, atomically, into
``OUT/.evaluate-partial/KEY/``, where KEY is a hash of everything those trainings depend on: the generator's and the
teacher's weights and config, the real training, validation and test tensors, the candidate recipes and controls,
the classifier's steps, input shape and device, and ganaug's own source. Running the same evaluation again (after
Ctrl-C, a crash or a lost machine) reads the finished seeds back and trains only the rest, with the same results as an
uninterrupted run; with any input changed, KEY differs and everything is trained again. The folder is removed when
the evaluation has written its result. A custom ``model_factory`` cannot be fingerprinted, so with one nothing is
kept.

Example:
    >>> seeds = SeedStore.for_evaluation(prepared)  # doctest: +SKIP
    >>> seeds.load("arms", 0)  # None, or {arm: ((val_scores, test_scores), test_probs)}  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..downstream.teacher import fingerprint
from ..fileio import read_json, save_tensors, write_json

PARTIAL_DIR = ".evaluate-partial"

Scored = tuple[tuple[dict, dict], np.ndarray]  # one arm of one seed: (validation scores, test scores), test probs


@functools.cache
def source_digest() -> str:
    """A hash of ganaug's Python source: results kept by one version of the code are not reused by another."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _tensor(h, t: torch.Tensor) -> None:
    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())


def _module(h, net: torch.nn.Module) -> None:
    for name, value in net.state_dict().items():
        h.update(name.encode())
        _tensor(h, value)


def evaluation_key(p) -> str | None:
    """The hash of what a seed's trainings depend on (``p``: a ``Prepared``); None with a custom model factory."""
    if p.model_factory is not None:
        return None
    h = hashlib.sha256(source_digest().encode())
    settings = {
        "generator": p.g.config, "teacher": None if p.teacher is None else p.teacher.info,
        "candidates": [r.to_dict() for r in p.candidates], "soft": [r.to_dict() for r in p.soft],
        "controls": p.controls, "counts": p.counts, "steps": p.arms.steps, "shape": list(p.arms.shape),
        "classes": p.arms.k, "device": str(p.arms.device),
    }  # fmt: skip
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    _module(h, p.g.net)
    if p.teacher is not None:
        _module(h, p.teacher.net)
    for x, y in ((p.x_tr, p.y_tr), (p.x_val, p.y_val), (p.held.images, p.y_test)):
        h.update(fingerprint(x, y).encode())
    return h.hexdigest()[:16]


class SeedStore:
    """Finished seeds of one evaluation, by phase (``"arms"``: every arm; ``"alone"``: the chosen recipe without
    classical augmentation), saved as they end and read back by a re-run with the same inputs.

    Example:
        >>> store = SeedStore(Path("export/.evaluate-partial"), "0123abcd0123abcd")  # doctest: +SKIP
        >>> store.save("alone", 3, ((val, test), probs)); store.load("alone", 3)  # doctest: +SKIP
    """

    def __init__(self, root: Path, key: str | None):
        self.root = Path(root)
        self.folder = self.root / key if key else None

    @classmethod
    def for_evaluation(cls, p) -> SeedStore:
        """The store of ``p``'s evaluation in its output folder; the stores of other inputs there are removed."""
        root = Path(p.out_dir) / PARTIAL_DIR
        store = cls(root, evaluation_key(p))
        if root.is_dir():
            for other in root.iterdir():
                if other != store.folder:
                    shutil.rmtree(other, ignore_errors=True)
        return store

    def _paths(self, phase: str, seed: int) -> tuple[Path, Path]:
        stem = self.folder / f"{phase}-seed{seed:04d}"
        return stem.with_suffix(".json"), stem.with_suffix(".safetensors")

    def saved_seeds(self, phase: str) -> list[int]:
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(int(p.stem.split("seed")[1]) for p in self.folder.glob(f"{phase}-seed*.json"))

    def save(self, phase: str, seed: int, arms: dict[str, Scored]) -> None:
        """Write one finished seed (``{arm: ((val_scores, test_scores), test_probs)}``): probabilities first, then
        the JSON that marks the seed as complete."""
        if self.folder is None:
            return
        meta_path, tensor_path = self._paths(phase, seed)
        save_tensors(tensor_path, {name: torch.from_numpy(np.ascontiguousarray(probs))
                                   for name, (_, probs) in arms.items()})  # fmt: skip
        write_json(meta_path, {name: {"val": val, "test": test} for name, ((val, test), _) in arms.items()})

    def load(self, phase: str, seed: int) -> dict[str, Scored] | None:
        """A saved seed, or None when it was not finished (or cannot be read: it is then trained again)."""
        if self.folder is None:
            return None
        meta_path, tensor_path = self._paths(phase, seed)
        if not meta_path.is_file() or not tensor_path.is_file():
            return None
        from safetensors.torch import load_file

        try:
            meta: dict[str, Any] = read_json(meta_path)
            probs = load_file(str(tensor_path))
            out = {name: ((m["val"], m["test"]), probs[name].numpy()) for name, m in meta.items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return out

    def clear(self) -> None:
        """Remove the kept seeds (the evaluation has written its result)."""
        shutil.rmtree(self.root, ignore_errors=True)
