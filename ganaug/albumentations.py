"""albumentations 2.0 transforms: ``GANAugment`` reads the class label from the data dict (``label_key``).

Import this module before ``A.from_dict`` so the transform is registered. Constructor arguments are plain values,
so ``A.to_dict`` / ``A.from_dict`` round-trip a pipeline that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from .errors import GanaugError
from .recipe import apply_to_stream
from .sampling import Sampler
from .transforms import functional as F
from .transforms.options import check_options, class_filter, missing_label_error

__all__ = ["GANAugment"]


class GANAugment(A.ImageOnlyTransform):
    """With probability ``p``, replace ``image`` by a synthetic image of the class in ``data[label_key]``.

    numpy H x W or H x W x C images, uint8 / uint16 / float (float taken as [0, 1], albumentations' convention),
    come back with the same shape, dtype and range; gray <-> RGB and size are converted. For a spectrogram model
    (``--preset spectrogram``) the image is a float log-mel array ``(n_mels, time)`` or ``(n_mels, time, channels)``
    in the model's values, or ``(value - mean) / std`` with scalar ``mean``/``std``; time is cropped or padded with
    silence, as in ``ganaug.GANAugment``. ``mode="mix"`` blends with a weight drawn from ``mix_weight``.
    ``sample_seed`` seeds ganaug's noise stream (``None``: torch's RNG; the albumentations ``seed`` drives only ``p``
    and the mix weight).

    Example:
        >>> import albumentations as A
        >>> pipeline = A.Compose([GANAugment("runs/digits", p=0.5), A.HorizontalFlip()])
        >>> out = pipeline(image=image, label=3)["image"]  # doctest: +SKIP
        >>> A.from_dict(A.to_dict(pipeline))  # doctest: +SKIP
    """

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
    ):
        if not isinstance(source, (str, Path)):
            raise GanaugError(
                f"source must be a model path or hf-hub:OWNER/NAME (a serializable value), not {type(source).__name__}"
            )
        check_options(0.5 if p is None else p, mode, mix_weight)
        sampler = Sampler(str(source), seed=sample_seed, truncation=truncation, device=device, batch_size=batch_size)
        _, p = apply_to_stream(sampler, recipe, p)
        p, weights = check_options(p, mode, mix_weight)
        super().__init__(p=p)
        self.recipe = recipe
        self.source = str(source)
        self.label_key = label_key
        self.mode = mode
        self.mix_weight = list(weights)
        self.truncation = truncation
        self.device = device
        self.sample_seed = sample_seed
        self.batch_size = batch_size
        self.mean, self.std = mean, std
        self._sampler = sampler
        self.classes = None if classes is None else [classes] if isinstance(classes, (str, int)) else list(classes)
        self._classes = class_filter(self._sampler, self.classes)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if self.label_key in data:
            label = self._sampler.class_index(data[self.label_key])
        elif self._sampler.num_classes == 1:
            label = 0
        else:
            raise missing_label_error(f"pass it as pipeline(image=..., {self.label_key}=...) (label_key)")
        if self._classes is not None and label not in self._classes:
            return {"synthetic_class": None, "weight": None}
        weight = float(self.random_generator.uniform(*self.mix_weight)) if self.mode == "mix" else None
        return {"synthetic_class": label, "weight": weight}

    def apply(self, img: np.ndarray, synthetic_class: int | None = None, weight: float | None = None, **params: Any):
        """``synthetic_class``: the class to draw a sample of, or None to leave the image as it is."""
        if synthetic_class is None:
            return img
        if self._sampler.data.modality == "spectrogram":
            out = self._spectrogram(img, synthetic_class)
        else:
            out = F.prepared_draw(self._sampler, synthetic_class, F.describe(img))
        return out if weight is None else F.blend(img, out, weight)

    def _spectrogram(self, img: np.ndarray, synthetic_class: int) -> np.ndarray:
        """A synthetic log-mel array shaped and typed like ``img`` ((n_mels, time) or (n_mels, time, channels))."""
        import torch

        from .audio import spectrogram_like

        if not (isinstance(img, np.ndarray) and np.issubdtype(img.dtype, np.floating) and img.ndim in (2, 3)):
            shape = f" {img.shape} {img.dtype}" if isinstance(img, np.ndarray) else ""
            raise GanaugError(
                "a spectrogram model augments float arrays shaped (n_mels, time) or (n_mels, time, channels), got "
                f"{type(img).__name__}{shape}; for waveforms use ganaug.audio.GANAugmentWaveform"
            )
        like = torch.from_numpy(np.ascontiguousarray(img if img.ndim == 2 else np.moveaxis(img, -1, 0)))
        draw = self._sampler.draw(synthetic_class)[None]
        out = spectrogram_like(draw, self._sampler.data, like, self.mean, self.std).numpy().astype(img.dtype)
        return out if img.ndim == 2 else np.moveaxis(out, 0, -1)


from .albumentations_translate import GANTranslate  # noqa: E402, F401  (CycleGAN translation; own module)
