"""albumentations 2.0 transforms: ``GANAugment`` reads the class label from the data dict (``label_key``).

Import this module before ``A.from_dict`` so the transform is registered. Constructor arguments are plain values,
so ``A.to_dict`` / ``A.from_dict`` round-trip a pipeline that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import albumentations as A
import numpy as np
from albumentations.core.transforms_interface import BaseTransformInitSchema
from pydantic import Field, model_validator

from ..downstream.recipe import apply_to_stream
from ..errors import GanaugValueError
from ..generation.sampling import Sampler, private_seed
from ..modalities import modality_of
from . import functional as F
from .albumentations_translate import GANTranslate, SampleRules, check_source
from .options import SEED_HIGH, check_annotations, check_options, class_filter, class_of, missing_label_error

__all__ = ["GANAugment", "GANTranslate"]


class GANAugment(SampleRules, A.ImageOnlyTransform):
    """With probability ``p``, replace ``image`` by a synthetic image of the class in ``data[label_key]``.

    numpy H x W or H x W x C images, uint8 / uint16 / float (float taken as [0, 1], albumentations' convention),
    come back with the same shape, dtype and range; gray <-> RGB and size are converted. For a spectrogram model
    (``--preset spectrogram``) the image is a float log-mel array ``(n_mels, time)`` or ``(n_mels, time, channels)``
    in the model's values, or ``(value - mean) / std`` with scalar ``mean``/``std``; time is cropped or padded with
    silence, as in ``ganaug.GANAugment``. ``mode="mix"`` blends with a weight drawn from ``mix_weight``.

    Parameters are drawn as albumentations draws them: ``p`` from ``py_random``, the latent seed and mix weight in
    ``get_params_dependent_on_data`` from ``random_generator``, so ``Compose(seed=...)``, ``set_random_seed`` and
    ``ReplayCompose.replay`` reproduce the image (a function of the recorded class and seed). ``sample_seed`` draws
    the latent seeds from a private stream instead. Every image target of a sample (``images``,
    ``additional_targets``) gets the same synthetic image; a sample with masks, boxes or keypoints is refused unless
    ``annotations="pass"``; a ``volume`` is refused (it would become one synthetic image repeated over its slices).
    ``label_key`` is declared, so a ``strict=True`` Compose accepts it.

    ``codes`` is for models fitted with ``--info-codes``, as in ``ganaug.GANAugment``: ``None`` draws the latent codes
    at random as in training, ``"sweep"`` draws each continuous code from the values of the card's traversal grids, a
    dict such as ``{"u0": 0.8}`` fixes codes (the others drawn). The synthetic image stays a function of the recorded
    class and seed; the checked codes are kept as plain values, so ``A.to_dict`` records them.

    Example:
        >>> import albumentations as A
        >>> pipeline = A.Compose([GANAugment("runs/digits", p=0.5), A.HorizontalFlip()])  # doctest: +SKIP
        >>> out = pipeline(image=image, label=3)["image"]  # doctest: +SKIP
        >>> A.from_dict(A.to_dict(pipeline))  # doctest: +SKIP
    """

    refuses_volumes = True  # one synthetic 2D image cannot stand for a volume

    class InitSchema(BaseTransformInitSchema):
        source: Any
        p: Any = None
        label_key: str = "label"
        mode: str = "replace"
        mix_weight: Any = (0.25, 0.75)
        truncation: float | None = Field(default=None, gt=0)
        classes: Any = None
        device: str = "cpu"
        sample_seed: int | None = Field(default=None, ge=0)
        batch_size: int = Field(default=64, ge=1)
        mean: float | None = None
        std: float | None = Field(default=None, gt=0)
        recipe: str = "auto"
        annotations: str = "error"
        codes: Any = None

        @model_validator(mode="after")
        def _check(self) -> GANAugment.InitSchema:
            _, weights = check_options(0.5 if self.p is None else self.p, self.mode, self.mix_weight)
            self.mix_weight = list(weights)
            check_annotations(self.annotations)
            if not (self.codes is None or self.codes == "sweep" or isinstance(self.codes, dict)):
                raise GanaugValueError(
                    f"codes={self.codes!r} is not accepted; give None, 'sweep' or a dict {{name: value}}"
                )
            return self

    def __init__(
        self,
        source: str,
        p: float | None = None,
        label_key: str = "label",
        mode: str = "replace",
        mix_weight: Sequence[float] = (0.25, 0.75),
        truncation: float | None = None,
        classes: Sequence[str | int] | None = None,
        device: str = "cpu",
        sample_seed: int | None = None,
        batch_size: int = 64,
        mean: float | None = None,
        std: float | None = None,
        recipe: str = "auto",
        annotations: str = "error",
        codes: dict[str, float] | str | None = None,
    ):
        source = check_source(source)
        sampler = Sampler(
            source, seed=sample_seed, truncation=truncation, device=device, batch_size=batch_size, codes=codes
        )
        _, p = apply_to_stream(sampler, recipe, p)
        p, weights = check_options(p, mode, mix_weight)
        super().__init__(p=p)
        self.recipe = recipe
        self.source = source
        self.label_key = label_key
        self._available_keys.add(label_key)  # declared, so that a strict Compose accepts it
        self.mode = mode
        self.mix_weight = list(weights)
        self.truncation = truncation
        self.device = device
        self.sample_seed = sample_seed
        self.batch_size = batch_size
        self.mean, self.std = mean, std
        self.annotations = check_annotations(annotations)
        self.codes = sampler.codes or None  # checked: None, "sweep" or {name: float}
        self._sampler = sampler
        self._private: tuple[tuple[int, int, int], np.random.Generator] | None = None
        self.classes = None if classes is None else [classes] if isinstance(classes, (str, int)) else list(classes)
        self._classes = class_filter(self._sampler, self.classes)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_private": None}

    def _seed_generator(self) -> np.random.Generator:
        """``random_generator``, or with ``sample_seed`` a private stream (per process and DataLoader worker)."""
        if self.sample_seed is None:
            return self.random_generator
        owner, seed = private_seed(self.sample_seed)
        if self._private is None or self._private[0] != owner:
            self._private = (owner, np.random.default_rng(seed))
        return self._private[1]

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if self.label_key in data:
            label = class_of(self._sampler, data[self.label_key])
        elif self._sampler.num_classes == 1:
            label = 0
        else:
            raise missing_label_error(f"pass it as pipeline(image=..., {self.label_key}=...) (label_key)")
        if self._classes is not None and label not in self._classes:
            return {"synthetic_class": None, "seed": None, "weight": None}
        seed = int(self._seed_generator().integers(0, SEED_HIGH))
        weight = float(self.random_generator.uniform(*self.mix_weight)) if self.mode == "mix" else None
        return {"synthetic_class": label, "seed": seed, "weight": weight}

    def apply(
        self,
        img: np.ndarray,
        synthetic_class: int | None = None,
        seed: int | None = None,
        weight: float | None = None,
        **params: Any,
    ) -> np.ndarray:
        """``synthetic_class``: the class to draw a sample of (None: leave the image as it is); ``seed``: its latent
        seed. Every image of a sample gets the same synthetic image."""
        if synthetic_class is None:
            return img
        if seed is None:
            raise GanaugValueError("GANAugment.apply needs the latent seed drawn with the class (params: seed)")
        x = self._sampler.seeded([synthetic_class], [seed])
        if modality_of(self._sampler.data).features_like_input:
            out = self._spectrogram(img, x)
        else:
            out = F.render(x, self._sampler.data, F.describe(img))
        return out if weight is None else F.blend(img, out, weight)

    def _spectrogram(self, img: np.ndarray, draw: Any) -> np.ndarray:
        """A synthetic log-mel array shaped and typed like ``img`` ((n_mels, time) or (n_mels, time, channels))."""
        import torch

        if not (isinstance(img, np.ndarray) and np.issubdtype(img.dtype, np.floating) and img.ndim in (2, 3)):
            shape = f" {img.shape} {img.dtype}" if isinstance(img, np.ndarray) else ""
            raise GanaugValueError(
                "a spectrogram model augments float arrays shaped (n_mels, time) or (n_mels, time, channels), got "
                f"{type(img).__name__}{shape}; for waveforms use ganaug.generation.spectrograms.GANAugmentWaveform"
            )
        like = torch.from_numpy(np.ascontiguousarray(img if img.ndim == 2 else np.moveaxis(img, -1, 0)))
        out = F.spectrogram_like(draw, self._sampler.data, like, self.mean, self.std).numpy().astype(img.dtype)
        return out if img.ndim == 2 else np.moveaxis(out, 0, -1)
