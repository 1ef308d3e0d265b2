"""albumentations 2.0 ``GANTranslate``: apply a CycleGAN to ``image`` (re-exported by ``ganaug.albumentations``).

Constructor arguments are plain values, so ``A.to_dict`` / ``A.from_dict`` round-trip a pipeline that holds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from .errors import GanaugError
from .transforms import functional as F
from .transforms.translate import LazyTranslator, check_probability, guard_keep, resolve_guard
from .translate import check_direction, to_unit, unit_to_model

__all__ = ["GANTranslate"]


class GANTranslate(A.ImageOnlyTransform):
    """With probability ``p``, translate ``image`` from domain A to B (``direction="a2b"``) or back (``"b2a"``).

    numpy H x W or H x W x C images, uint8 / uint16 / float (float taken as [0, 1], albumentations' convention), come
    back with the same shape, dtype and range, at their own size; labels and masks are untouched.
    ``guard="auto"`` returns the original image when the CycleGAN's guard classifier labels the translation
    differently (``guard_stats`` counts it, per process).

    Example:
        >>> import albumentations as A
        >>> pipeline = A.Compose([GANTranslate("runs/monet-photo", direction="b2a", p=0.5), A.HorizontalFlip()])
        >>> out = pipeline(image=image)["image"]  # doctest: +SKIP
    """

    def __init__(
        self, source: str, direction: str = "a2b", p: float = 0.5, guard: str | None = None, device: str = "cpu"
    ):
        if not isinstance(source, (str, Path)):
            raise GanaugError(
                f"source must be a model path or hf-hub:OWNER/NAME (a serializable value), not {type(source).__name__}"
            )
        if guard not in (None, "auto"):
            raise GanaugError(f"guard must be None or 'auto' here (a serializable value), got {guard!r}")
        super().__init__(p=check_probability(p))
        self.source = str(source)
        self.direction = check_direction(direction)
        self.device = str(device)
        self._translator = LazyTranslator(self.source, self.device)
        self.guard = resolve_guard(guard, self._translator.get())
        self.guard_stats = {"checked": 0, "rejected": 0}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("source", "direction", "guard", "device")

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        t = self._translator.get()
        spec = F.describe(img)
        src, dst = t.domains(self.direction)
        x = unit_to_model(to_unit(img, spec), src)
        y = t.translate(x, self.direction)
        out = F.finish(F.prepare(y, dst, spec.channels, spec.height, spec.width), spec)
        keep = guard_keep(self.guard, t, img, out, x, y, self.guard_stats)
        return out if keep[0] else img
