"""``GANTranslate``: a torchvision v2 transform that turns an image of domain A into domain B (or back) with a CycleGAN.

The label is untouched; the output has the input's type, size, channels, dtype and value range. With a ``guard``, a
translation that the guard classifies differently from the original is dropped and the original is returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import Transform
from torchvision.transforms.v2.functional import is_pure_tensor

from ..errors import GanaugError, GanaugValueError
from ..translation.translator import Translator, check_direction, to_unit, unit_to_model
from . import functional as F
from .options import annotations_error, check_annotations, check_probability
from .torchvision import PrivateStream, annotation_kinds, batch_rows, draw_rows

GuardSpec = Callable[[Any], Any] | str | None


class LazyTranslator:
    """A translator loaded from its folder on first use in each process; pickled without its networks.

    Example:
        >>> lazy = LazyTranslator("runs/monet-photo")  # doctest: +SKIP
        >>> lazy.get().translate(x, "a2b")  # doctest: +SKIP
    """

    def __init__(self, source: str | Path | Translator, device: str = "cpu"):
        from ..hub.sources import resolve_model

        self.device = str(device)
        if isinstance(source, Translator):
            self.source = source.source
            try:
                self._folder: Path | None = resolve_model(source.source)
            except GanaugError:
                self._folder = None  # kept in memory and pickled whole
            self._translator: Translator | None = source.to(self.device)
        else:
            self.source = str(source)
            self._folder = resolve_model(source)
            self._translator = Translator.from_folder(self._folder, source=self.source).to(self.device)
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._folder is not None:
            state["_translator"] = None
        return state

    def get(self) -> Translator:
        if self._pid != os.getpid() and self.device != "cpu" and self._folder is not None:
            self._translator = None  # an accelerator context does not survive a fork
        if self._translator is None:
            self._translator = Translator.from_folder(self._folder, source=self.source).to(self.device)
        self._pid = os.getpid()
        return self._translator


def guard_labels(prediction: Any, n: int) -> list:
    """A guard's output for ``n`` images as ``n`` labels: ints/strings, label tensors, or logits (argmax)."""
    if isinstance(prediction, (torch.Tensor, np.ndarray)):
        arr = prediction.detach().cpu().numpy() if isinstance(prediction, torch.Tensor) else np.asarray(prediction)
        if arr.size > n:  # logits or probabilities: N x K (or K for one image)
            arr = arr.reshape(n, -1).argmax(-1)
        values = arr.reshape(-1).tolist()
    elif isinstance(prediction, (list, tuple)):
        values = list(prediction)
    else:
        values = [prediction]
    if len(values) != n:
        raise GanaugValueError(
            f"the guard returned {len(values)} labels for {n} image(s); it must return one per image"
        )
    return values


def resolve_guard(guard: GuardSpec, translator: Translator) -> GuardSpec:
    if guard is None or callable(guard):
        return guard
    if guard == "auto":
        if translator.guard is None:
            raise GanaugValueError(
                f"guard='auto' needs the guard classifier of the export, but {translator.source} has none (its domains "
                "had no class labels when it was trained); pass guard=a callable returning a label, or None"
            )
        return guard
    raise GanaugValueError(f"guard must be None, 'auto' or a callable returning labels, got {guard!r}")


def guard_keep(
    guard: GuardSpec, t: Translator, original: Any, out: Any, x: torch.Tensor, y: torch.Tensor, stats: dict
) -> list[bool]:
    """Per translated image: keep it (True) or fall back to the original (False); counts go into ``stats``.

    ``original``/``out`` are the images in the input's type (for a callable guard), ``x``/``y`` the same in model
    space (for ``"auto"``, the export's classifier).
    """
    n = len(x)
    if guard is None:
        return [True] * n
    if guard == "auto":
        same = (t.classify(x) == t.classify(y)).tolist()
    else:
        before, after = guard_labels(guard(original), n), guard_labels(guard(out), n)
        same = [a == b for a, b in zip(before, after, strict=True)]
    stats["checked"] += n
    stats["rejected"] += n - sum(same)
    return same


class GANTranslate(Transform):
    """With probability ``p``, translate an image from domain A to B (``direction="a2b"``) or back (``"b2a"``).

    PIL images and tensors / ``tv_tensors.Image`` (also N x C x H x W batches, one draw per row) come
    back with the same type, size, channels, dtype and value range; labels and other items pass through. Images of
    any size are translated at their own size. ``guard``: ``None``; ``"auto"`` (the classifier stored with the
    CycleGAN); or a callable taking an image (or a batch) of the input's type and returning labels or logits.
    When the guard's label for the translation differs from its label for the original, the original is returned;
    ``guard_stats`` counts checks and rejections in this process (each DataLoader worker keeps its own).
    ``mean``/``std`` give the normalisation of float inputs (as for ``GANAugment``).

    Whether each image is translated is drawn in ``make_params`` from torch's global state (or a private stream with
    ``seed=``), once per sample: all images of a sample are translated or none. A sample with masks, bounding boxes,
    keypoints or videos is refused unless ``annotations="pass"`` (a translation may move what they mark).

    Example:
        >>> from torchvision.transforms import v2
        >>> tf = v2.Compose([GANTranslate("runs/monet-photo", direction="a2b", p=0.5), v2.ToImage()])  # doctest: +SKIP
        >>> image, label = tf(pil_image, 3)  # doctest: +SKIP
    """

    _transformed_types = (PIL.Image.Image, tv_tensors.Image, is_pure_tensor)

    def __init__(
        self,
        source: str | Path | Translator,
        direction: str = "a2b",
        p: float = 0.5,
        guard: GuardSpec = None,
        *,
        mean: Any = None,
        std: Any = None,
        device: str = "cpu",
        seed: int | None = None,
        annotations: str = "error",
    ):
        super().__init__()
        self.direction = check_direction(direction)
        self.p = check_probability(p)
        self.annotations = check_annotations(annotations)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise GanaugValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._stream = PrivateStream(self.seed)
        self.translator = LazyTranslator(source, device)
        self.source = self.translator.source
        self.guard = resolve_guard(guard, self.translator.get())
        self.mean, self.std = mean, std
        self.guard_stats = {"checked": 0, "rejected": 0}

    @property
    def rejection_rate(self) -> float:
        """Rejected / checked translations in this process (0 before any check)."""
        return self.guard_stats["rejected"] / max(1, self.guard_stats["checked"])

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        kinds = annotation_kinds(flat_inputs) if self.p > 0.0 and self.annotations == "error" else []
        if kinds:
            raise annotations_error("GANTranslate", kinds, "torchvision")

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        if self.p <= 0.0 or not flat_inputs:
            return {"rows": None}
        n = batch_rows(flat_inputs)
        apply = draw_rows(self.p, n, self._stream.get())
        rows = [i for i in range(n) if apply[i]] or None
        images = [x for x in flat_inputs if isinstance(x, (PIL.Image.Image, tv_tensors.Image)) or is_pure_tensor(x)]
        if rows is None or self.guard is None or len(images) < 2:
            return {"rows": rows}
        # several images in one sample: the guard's verdict is the sample's (a row keeps its translations only when
        # every image passes), so the sample's images are translated together or not at all
        done = [self._translate(x, rows) for x in images]
        keep = [all(k[i] for _, k in done) for i in range(len(rows))]
        results = [(x, self._assemble(x, rows, out, keep)) for x, (out, _) in zip(images, done, strict=True)]
        return {"rows": rows, "results": results}

    def _translate(self, inpt: Any, rows: list[int]) -> tuple[Any, list[bool]]:
        """The translation of ``inpt``'s ``rows`` in its own type, and the guard's keep flag per row."""
        t = self.translator.get()
        spec = F.describe(inpt, self.mean, self.std)
        src, dst = t.domains(self.direction)
        x = unit_to_model(to_unit(inpt, spec), src)
        if spec.batched:
            x = x[rows]
        y = t.translate(x, self.direction)
        out = F.finish(F.prepare(y, dst, spec.channels, spec.height, spec.width), spec)
        original = inpt[torch.as_tensor(rows, device=inpt.device)] if spec.batched else inpt
        return out, guard_keep(self.guard, t, original, out, x, y, self.guard_stats)

    def _assemble(self, inpt: Any, rows: list[int], out: Any, keep: list[bool]) -> Any:
        """``inpt`` with the kept rows' translations in place (one image: the translation or the original)."""
        if not (isinstance(inpt, torch.Tensor) and inpt.ndim == 4):
            return out if keep[0] else inpt
        result = inpt.clone()
        kept = [r for r, k in zip(rows, keep, strict=True) if k]
        if kept:
            result[torch.as_tensor(kept, device=inpt.device)] = out[torch.as_tensor(keep, device=out.device)]
        return result

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        rows = params["rows"]
        if rows is None:
            return inpt
        for image, result in params.get("results", ()):
            if image is inpt:
                return result
        out, keep = self._translate(inpt, rows)
        return self._assemble(inpt, rows, out, keep)

    def extra_repr(self) -> str:
        guard = "None" if self.guard is None else repr(self.guard) if isinstance(self.guard, str) else "callable"
        return f"source={self.source!r}, direction={self.direction!r}, p={self.p}, guard={guard}"
