"""``GANAugment``: a torchvision v2 transform that swaps (or blends) an image for a synthetic one of the same class."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import Transform
from torchvision.transforms.v2.functional import is_pure_tensor

from ..errors import GanaugError
from ..generator import Generator
from ..recipe import apply_to_stream
from ..sampling import Sampler
from . import functional as F
from .options import check_options, class_filter, missing_label_error


class _Missing(enum.Enum):
    """No label found (an enum, so that it stays the same object after pickling)."""

    MISSING = 0


MISSING = _Missing.MISSING


def find_label(sample: Any) -> Any:
    """The default ``labels_getter``: v2's heuristic, also accepting int and str labels.

    The second item of a tuple or list (or, if that is a dict, its label-like key), or the value under a label-like
    key of a dict: the key ``labels``, else the first key containing ``label`` (case-insensitive).
    """
    if isinstance(sample, (tuple, list)):
        if len(sample) < 2:
            return MISSING
        sample = sample[1]
        if not isinstance(sample, Mapping):
            return sample
    if isinstance(sample, Mapping):
        keys = [k for k in sample if isinstance(k, str)]
        exact = [k for k in keys if k.lower() == "labels"]
        key = next(iter(exact or [k for k in keys if "label" in k.lower()]), None)
        return sample[key] if key is not None else MISSING
    return MISSING


def _capture_labels(module: GANAugment, args: tuple) -> None:
    """Forward pre-hook: keep the sample's labels for ``make_params`` (v2 passes it only the images)."""
    getter = module.labels_getter
    module._pending[0] = MISSING if getter is None else getter(args if len(args) > 1 else args[0])


class GANAugment(Transform):
    """With probability ``p``, replace an image by a synthetic one of the same class (``mode="mix"``: blend them).

    By default it follows the model's recipe (written by ``ganaug evaluate``): ``p`` is the recipe's synthetic share
    (0 when the recipe found no gain), with its teacher filter and latent spread; without a recipe ``p`` is 0.5.
    Labels stay hard (for soft labels use ``SyntheticMixDataset``).

    The output has the input's type, size, channels, dtype and value range (PIL, uint8 / float tensor,
    ``tv_tensors.Image``, also N x C x H x W batches with one label per row); the label passes through. Labels are
    found like v2's ``labels_getter`` finds them (a ``(image, label)`` tuple or a dict with a label key), or by the
    ``labels_getter`` callable given. ``classes`` limits augmentation to some classes; ``mean``/``std`` give the
    normalisation of float inputs (see ``ganaug.transforms.functional``). ``seed=None`` follows torch's RNG.

    Two fast paths. On a collated batch (N x C x H x W, one label per row) after the DataLoader, one generator
    forward serves the whole batch, on ``device`` (the training device: a GPU generates while it trains). ``reuse=R``
    goes through each class's pool of ``batch_size`` samples ``R`` times (a new order each pass) before drawing a
    fresh one: generation costs ``1/R`` as much, for CPU training (see ``benchmarks/augment_step.py``).

    Example:
        >>> from torchvision.transforms import v2
        >>> tf = v2.Compose([GANAugment("runs/digits", p=0.5), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
        >>> image, label = tf(pil_image, 3)  # doctest: +SKIP
    """

    _transformed_types = (PIL.Image.Image, tv_tensors.Image, is_pure_tensor)

    def __init__(
        self,
        source: str | Path | Generator,
        p: float | None = None,
        *,
        recipe: Any = "auto",
        mode: str = "replace",
        mix_weight: tuple[float, float] = (0.25, 0.75),
        truncation: float | None = None,
        classes: Iterable[Any] | None = None,
        labels_getter: str | Callable[[Any], Any] | None = "default",
        mean: float | Iterable[float] | None = None,
        std: float | Iterable[float] | None = None,
        device: str = "cpu",
        seed: int | None = None,
        batch_size: int = 64,
        reuse: int = 1,
    ):
        super().__init__()
        check_options(0.5 if p is None else p, mode, mix_weight)
        self.sampler = Sampler(
            source, seed=seed, truncation=truncation, device=device, batch_size=batch_size, reuse=reuse
        )
        self.recipe, p = apply_to_stream(self.sampler, recipe, p)
        self.p, self.mix_weight = check_options(p, mode, mix_weight)
        self.mode = mode
        self.source, self.truncation, self.seed, self.device = self.sampler.source, truncation, seed, str(device)
        self.classes = class_filter(self.sampler, classes)
        if labels_getter == "default":
            labels_getter = find_label
        elif labels_getter is not None and not callable(labels_getter):
            raise GanaugError(f"labels_getter must be 'default', a callable or None, got {labels_getter!r}")
        self.labels_getter = labels_getter
        self.mean, self.std = mean, std
        self._pending: list[Any] = [MISSING]  # a list, not an attribute: nn.Module's __setattr__ is slow
        self.register_forward_pre_hook(_capture_labels)

    def _label_list(self, labels: Any, n: int) -> list[int]:
        if labels is MISSING:
            if self.sampler.num_classes == 1:
                return [0] * n
            how = (
                "none was found; call it on (image, label) or {'image': ..., 'label': ...} (with a torchvision "
                "dataset, wrap it in ganaug.datasets.TransformedDataset), or pass labels_getter=a function returning it"
            )
            raise missing_label_error(how)
        if n == 1:
            return [self.sampler.class_index(labels)]
        values = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) else list(labels)
        if len(values) != n:
            raise GanaugError(f"a batch of {n} images needs {n} labels, got {len(values)}")
        return [self.sampler.class_index(v) for v in values]

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        labels, self._pending[0] = self._pending[0], MISSING
        if self.p <= 0.0:  # nothing will be replaced: no label is needed
            return {"rows": None}
        first = flat_inputs[0] if flat_inputs else None
        n = first.shape[0] if isinstance(first, torch.Tensor) and first.ndim == 4 else 1
        classes = self._label_list(labels, n)
        if n == 1:
            apply = [self.p >= 1.0 or (self.p > 0.0 and float(torch.rand(())) < self.p)]
        else:
            apply = (torch.rand(n) < self.p).tolist()
        rows = [i for i in range(n) if apply[i] and (self.classes is None or classes[i] in self.classes)]
        if not rows or first is None:
            return {"rows": None}
        weights = torch.empty(len(rows)).uniform_(*self.mix_weight).tolist() if self.mode == "mix" else None
        return {"rows": rows, "classes": [classes[i] for i in rows], "weights": weights}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        rows = params["rows"]
        if rows is None:
            return inpt
        if self.sampler.data.modality == "spectrogram":  # (..., n_mels, time) tensors: see ganaug.audio
            from ..audio import spectrogram_transform

            return spectrogram_transform(self, inpt, params)
        spec = F.describe(inpt, self.mean, self.std)
        weights = params["weights"]
        if not spec.batched:
            out = F.prepared_draw(self.sampler, params["classes"][0], spec)
            return out if weights is None else F.blend(inpt, out, weights[0])
        index = torch.as_tensor(rows, device=inpt.device)
        out = F.render(self.sampler.draw_many(params["classes"]), self.sampler.data, spec)
        if weights is not None:
            out = F.blend(inpt[index], out, torch.tensor(weights))
        result = inpt.clone()
        result[index] = out
        return result
