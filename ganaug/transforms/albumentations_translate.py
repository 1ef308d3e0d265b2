"""albumentations 2.0 ``GANTranslate``: apply a CycleGAN to ``image`` (re-exported by
``ganaug.transforms.albumentations``), and the rules both ganaug albumentations transforms share (``SampleRules``).

Constructor arguments are plain values, validated by an ``InitSchema`` as albumentations' own transforms are, so
``A.to_dict`` / ``A.from_dict`` round-trip a pipeline that holds it and ``strict=True`` is accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
from albumentations.core.transforms_interface import BaseTransformInitSchema
from pydantic import model_validator

from ..errors import GanaugError, GanaugTypeError, GanaugValueError
from ..translation.translator import check_direction, to_unit, unit_to_model
from . import functional as F
from .gan_translate import LazyTranslator, guard_keep, resolve_guard
from .options import annotations_error, check_annotations, check_probability

__all__ = ["GANTranslate", "SampleRules"]

# Targets a new image does not match, by albumentations' target name.
ANNOTATION_TARGETS = {
    "mask": "masks",
    "masks": "masks",
    "mask3d": "masks",
    "masks3d": "masks",
    "bboxes": "bounding boxes",
    "keypoints": "keypoints",
}


def as_value_error(check: Any, *args: Any) -> Any:
    """``check(*args)``, with a GanaugError turned into a GanaugValueError (a schema validator may raise only those)."""
    try:
        return check(*args)
    except GanaugValueError:
        raise
    except GanaugError as e:
        raise GanaugValueError(str(e)) from None


def check_source(source: Any) -> str:
    if not isinstance(source, (str, Path)):
        raise GanaugTypeError(
            f"source must be a model path or hf-hub:OWNER/NAME (a serializable value), not {type(source).__name__}"
        )
    return str(source)


class SampleRules:
    """Mixin for ganaug's albumentations transforms: a sample with masks, boxes or keypoints (also under
    ``additional_targets`` names) is refused unless ``annotations="pass"``; ``p = 0`` checks nothing. A transform
    with ``refuses_volumes`` refuses ``volume``/``volumes`` targets, which albumentations would process slice by
    slice with one set of parameters."""

    refuses_volumes = False

    annotations: str = "error"

    def add_targets(self, additional_targets: dict[str, str]) -> None:
        self._declared_targets = {**getattr(self, "_declared_targets", {}), **additional_targets}
        super().add_targets(additional_targets)  # type: ignore[misc]

    def annotation_kinds(self, data: dict[str, Any]) -> list[str]:
        declared = getattr(self, "_declared_targets", {})
        kinds = []
        for key, value in data.items():
            target = declared.get(key, key)
            kind = ANNOTATION_TARGETS.get(target)
            if kind is not None and value is not None and (target in ("mask", "mask3d") or len(value) > 0):
                kinds.append(kind)
        return kinds

    def volume_targets(self, data: dict[str, Any]) -> list[str]:
        """The keys of ``data`` that hold 3D volumes (``volume``, ``volumes`` or names declared as those)."""
        declared = getattr(self, "_declared_targets", {})
        return [k for k, v in data.items() if v is not None and declared.get(k, k) in ("volume", "volumes")]

    def __call__(self, *args: Any, force_apply: bool = False, **kwargs: Any) -> Any:
        replaying = self.replay_mode and not self.applied_in_replay  # type: ignore[attr-defined]
        active = (self.p > 0.0 or force_apply) and not replaying  # type: ignore[attr-defined]
        if active and self.annotations == "error":  # type: ignore[attr-defined]
            kinds = self.annotation_kinds(kwargs)
            if kinds:
                raise annotations_error(type(self).__name__, kinds, "albumentations")
        if active and self.refuses_volumes and self.volume_targets(kwargs):
            raise GanaugValueError(
                f"{type(self).__name__} generates 2D images; it cannot replace the 3D volume in "
                f"{self.volume_targets(kwargs)} (each slice would become the same synthetic image). Give it 2D images "
                "(image=, images=), or slices of the volume one by one"
            )
        return super().__call__(*args, force_apply=force_apply, **kwargs)  # type: ignore[misc]


class GANTranslate(SampleRules, A.ImageOnlyTransform):
    """With probability ``p``, translate ``image`` from domain A to B (``direction="a2b"``) or back (``"b2a"``).

    numpy H x W or H x W x C images, uint8 / uint16 / float (float taken as [0, 1], albumentations' convention), come
    back with the same shape, dtype and range, at their own size; labels are untouched; every image target of a
    sample (``images``, ``additional_targets``) is translated or none is. A sample with masks, boxes or keypoints is
    refused unless ``annotations="pass"`` (a translation may move what they mark). ``guard="auto"`` returns the
    original image when the CycleGAN's guard classifier labels the translation differently (``guard_stats`` counts
    it, per process).

    Example:
        >>> import albumentations as A
        >>> translate = GANTranslate("runs/monet-photo", direction="b2a", p=0.5)  # doctest: +SKIP
        >>> pipeline = A.Compose([translate, A.HorizontalFlip()])  # doctest: +SKIP
        >>> out = pipeline(image=image)["image"]  # doctest: +SKIP
    """

    class InitSchema(BaseTransformInitSchema):
        source: Any
        direction: str = "a2b"
        p: Any = 0.5
        guard: Any = None
        device: str = "cpu"
        annotations: str = "error"

        @model_validator(mode="after")
        def _check(self) -> GANTranslate.InitSchema:
            as_value_error(check_direction, self.direction)
            self.p = check_probability(self.p)
            check_annotations(self.annotations)
            if self.guard not in (None, "auto"):
                raise GanaugValueError(f"guard must be None or 'auto' here (a serializable value), got {self.guard!r}")
            return self

    def __init__(
        self,
        source: str,
        direction: str = "a2b",
        p: float = 0.5,
        guard: str | None = None,
        device: str = "cpu",
        annotations: str = "error",
    ):
        super().__init__(p=check_probability(p))
        self.source = check_source(source)
        self.direction = check_direction(direction)
        self.device = str(device)
        self.annotations = check_annotations(annotations)
        self._translator = LazyTranslator(self.source, self.device)
        self.guard = resolve_guard(guard, self._translator.get())
        self.guard_stats = {"checked": 0, "rejected": 0}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("source", "direction", "guard", "device", "annotations")

    def _sample_images(self, data: dict[str, Any]) -> list[np.ndarray]:
        """The 2D images of a sample: ``image``, each of ``images``, each slice of a volume, and additional targets
        declared as those."""
        declared = getattr(self, "_declared_targets", {})
        out = []
        for key, value in data.items():
            target = declared.get(key, key)
            if value is None:
                continue
            if target == "image":
                out.append(value)
            elif target in ("images", "volume"):
                out.extend(list(value))
            elif target == "volumes":
                out.extend(image for volume in value for image in volume)
        return out

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """With a guard and several images in the sample, the guard's verdict is the sample's: its images keep their
        translations only when every one passes (``sample_keep``)."""
        if self.guard is None:
            return {}
        images = self._sample_images(data)
        if len(images) < 2:
            return {}
        return {"sample_keep": all([self._translate(img, judge=True)[1] for img in images])}

    def _translate(self, img: np.ndarray, judge: bool) -> tuple[np.ndarray, bool]:
        t = self._translator.get()
        spec = F.describe(img)
        src, dst = t.domains(self.direction)
        x = unit_to_model(to_unit(img, spec), src)
        y = t.translate(x, self.direction)
        out = F.finish(F.prepare(y, dst, spec.channels, spec.height, spec.width), spec)
        return out, (guard_keep(self.guard, t, img, out, x, y, self.guard_stats)[0] if judge else True)

    def apply(self, img: np.ndarray, sample_keep: bool | None = None, **params: Any) -> np.ndarray:
        if sample_keep is False:
            return img
        out, keep = self._translate(img, judge=sample_keep is None)
        return out if keep else img
