"""``GANAugment``: a torchvision v2 transform that swaps (or blends) an image for a synthetic one of the same class.

Its parameters are drawn in ``make_params`` from torch's global random state (or a private one with ``seed=``): per
image, whether it is replaced, its class and a latent seed. These determine the synthetic image (``Sampler.seeded``),
so ``torch.manual_seed`` reproduces it; every image of a sample gets the same synthetic image.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten
from torchvision import tv_tensors
from torchvision.transforms.v2 import Transform
from torchvision.transforms.v2.functional import is_pure_tensor

from ..downstream.recipe import apply_to_stream
from ..errors import GanaugError, GanaugValueError
from ..generation.generator import Generator
from ..generation.sampling import Sampler, private_seed
from ..modalities import modality_of
from . import functional as F
from .options import (
    SEED_HIGH,
    SeedPool,
    annotations_error,
    check_annotations,
    check_options,
    class_filter,
    class_of,
    missing_label_error,
)

# What a synthetic image cannot match: in a sample with one of these, the image alone would change.
ANNOTATION_TYPES = {
    "masks": tv_tensors.Mask,
    "bounding boxes": tv_tensors.BoundingBoxes,
    "videos": tv_tensors.Video,
    **({"keypoints": tv_tensors.KeyPoints} if hasattr(tv_tensors, "KeyPoints") else {}),
}


def annotation_kinds(flat_inputs: list[Any]) -> list[str]:
    """The kinds of annotations (masks, bounding boxes, keypoints, videos) among a sample's flattened items."""
    return [kind for kind, cls in ANNOTATION_TYPES.items() if any(isinstance(x, cls) for x in flat_inputs)]


def batch_rows(flat_inputs: list[Any]) -> int:
    """The number of rows of the images of a sample: N for N x C x H x W tensors, else 1; they must agree."""
    sizes = {x.shape[0] if isinstance(x, torch.Tensor) and x.ndim == 4 else 1 for x in flat_inputs}
    if len(sizes) > 1:
        raise GanaugValueError(
            f"the images of one sample must all be single images or all batches of one size, got sizes {sorted(sizes)}"
        )
    return sizes.pop() if sizes else 1


class PrivateStream:
    """A ``torch.Generator`` seeded from ``seed`` and the DataLoader worker (``None``: torch's global state);
    made anew in each process and dropped when pickled."""

    def __init__(self, seed: int | None):
        self.seed = seed
        self._owner: tuple[int, int, int] | None = None
        self._generator: torch.Generator | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"seed": self.seed, "_owner": None, "_generator": None}

    def get(self) -> torch.Generator | None:
        if self.seed is None:
            return None
        owner, seed = private_seed(self.seed)
        if owner != self._owner:
            self._owner = owner
            self._generator = torch.Generator().manual_seed(seed)
        return self._generator


def draw_rows(p: float, n: int, generator: torch.Generator | None) -> list[bool]:
    """Which of ``n`` rows a transform of probability ``p`` applies to (no draw at p = 0 or 1)."""
    if p >= 1.0 or p <= 0.0:
        return [p >= 1.0] * n
    if n == 1:
        return [float(torch.rand((), generator=generator)) < p]
    return (torch.rand(n, generator=generator) < p).tolist()


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


class GANAugment(Transform):
    """With probability ``p``, replace an image by a synthetic one of the same class (``mode="mix"``: blend them).

    By default it follows the model's recipe (written by ``ganaug evaluate``): ``p`` is the recipe's synthetic share
    (0 when the recipe found no gain), with its teacher filter and latent spread; without a recipe ``p`` is 0.5.
    Labels stay hard (for soft labels use ``SyntheticMixDataset``).

    The output has the input's type, size, channels, dtype and value range (PIL, uint8 / float tensor,
    ``tv_tensors.Image``, also N x C x H x W batches with one label per row); the label passes through. Labels are
    found like v2's ``labels_getter`` finds them (a ``(image, label)`` tuple or a dict with a label key), or by the
    ``labels_getter`` callable given. ``classes`` limits augmentation to some classes; ``mean``/``std`` give the
    normalisation of float inputs (see ``ganaug.transforms.functional``).

    Randomness is drawn in ``make_params`` from torch's global state (``seed=None``; ``torch.manual_seed`` and the
    DataLoader's per-worker seeds reproduce it) or from a private stream seeded by ``seed``: whether each image is
    replaced, its latent seed and mix weight. The synthetic image is a function of (class, latent seed); all images of
    one sample get the same one. A sample with masks, bounding boxes, keypoints or videos is refused (a generator has
    none to match) unless ``annotations="pass"``, which returns them unchanged.

    ``codes`` is for models fitted with ``--info-codes``: ``None`` draws the latent codes at random over their range, as
    in training; ``"sweep"`` draws each continuous code from the evenly spaced values of the card's traversal grids
    (both ends of the range included, so the extremes a user reviewed come up as often as the middle); a dict such as
    ``{"u0": 0.8}`` or ``{"c0": 3}`` fixes codes (controlled variation within a class), the others drawn at random.

    Two fast paths. On a collated batch (N x C x H x W, one label per row) after the DataLoader, one generator
    forward serves the whole batch, on ``device`` (the training device: a GPU generates while it trains). ``reuse=R``
    keeps per class a pool of ``batch_size`` latent seeds, generated in one forward and served ``R`` times (a new
    order each pass, drawn like the rest): generation costs ``1/R`` as much, for CPU training (see
    ``benchmarks/augment_step.py``); the pool is state, so with ``R > 1`` the seed alone no longer fixes the output.

    Example:
        >>> from torchvision.transforms import v2
        >>> aug = GANAugment("runs/digits", p=0.5)  # doctest: +SKIP
        >>> tf = v2.Compose([aug, v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])  # doctest: +SKIP
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
        annotations: str = "error",
        codes: dict | str | None = None,
    ):
        super().__init__()
        check_options(0.5 if p is None else p, mode, mix_weight)
        self.annotations = check_annotations(annotations)
        self.sampler = Sampler(
            source, seed=seed, truncation=truncation, device=device, batch_size=batch_size, reuse=reuse, codes=codes
        )
        self.codes = self.sampler.codes
        self.recipe, p = apply_to_stream(self.sampler, recipe, p)
        self.p, self.mix_weight = check_options(p, mode, mix_weight)
        self.mode = mode
        self.source, self.truncation, self.seed, self.device = self.sampler.source, truncation, seed, str(device)
        self.reuse = self.sampler.reuse
        self.classes = class_filter(self.sampler, classes)
        if labels_getter == "default":
            labels_getter = find_label
        elif labels_getter is not None and not callable(labels_getter):
            raise GanaugValueError(f"labels_getter must be 'default', a callable or None, got {labels_getter!r}")
        self.labels_getter = labels_getter
        self.mean, self.std = mean, std
        self._stream = PrivateStream(self.sampler.seed)
        self._pool = SeedPool(self.sampler.batch_size, self.reuse) if self.reuse > 1 else None

    def _label_list(self, labels: Any, n: int) -> list[int]:
        if labels is MISSING:
            if self.sampler.num_classes == 1:
                return [0] * n
            how = (
                "none was found; call it on (image, label) or {'image': ..., 'label': ...} (with a torchvision "
                "dataset, wrap it in ganaug.generation.datasets.TransformedDataset), or pass labels_getter=a function "
                "returning it"
            )
            raise missing_label_error(how)
        if n == 1:
            return [class_of(self.sampler, labels)]
        values = labels.tolist() if isinstance(labels, (torch.Tensor, np.ndarray)) else list(labels)
        if len(values) != n:
            raise GanaugValueError(f"a batch of {n} images needs {n} labels, got {len(values)}")
        return [class_of(self.sampler, v) for v in values]

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        kinds = annotation_kinds(flat_inputs) if self.p > 0.0 and self.annotations == "error" else []
        if kinds:
            raise annotations_error("GANAugment", kinds, "torchvision")

    def forward(self, *inputs: Any) -> Any:
        """``Transform.forward``, with the sample's labels read from its inputs and handed to ``make_params`` (the way
        v2's ``SanitizeBoundingBoxes`` reads them), so one instance can serve several threads at once."""
        sample = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(sample)
        self.check_inputs(flat_inputs)
        getter = self.labels_getter
        labels = MISSING if getter is None or self.p <= 0.0 else getter(sample)  # p = 0 needs no label
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([x for x, n in zip(flat_inputs, needs, strict=True) if n], labels)
        outputs = [self.transform(x, params) if n else x for x, n in zip(flat_inputs, needs, strict=True)]
        return tree_unflatten(outputs, spec)

    def make_params(self, flat_inputs: list[Any], labels: Any = MISSING) -> dict[str, Any]:
        if self.p <= 0.0 or not flat_inputs:  # nothing will be replaced: no label is needed
            return {"rows": None}
        n = batch_rows(flat_inputs)
        classes = self._label_list(labels, n)
        gen = self._stream.get()
        apply = draw_rows(self.p, n, gen)
        rows = [i for i in range(n) if apply[i] and (self.classes is None or classes[i] in self.classes)]
        if not rows:
            return {"rows": None}
        chosen = [classes[i] for i in rows]
        if self._pool is not None:

            def draw_seeds(k: int) -> list[int]:
                return torch.randint(0, SEED_HIGH, (k,), generator=gen).tolist()

            def order(k: int) -> list[int]:
                return torch.randperm(k, generator=gen).tolist()

            seeds = [self._pool.next(c, draw_seeds, order, self.sampler) for c in chosen]
        else:
            seeds = torch.randint(0, SEED_HIGH, (len(rows),), generator=gen).tolist()
        weights = None
        if self.mode == "mix":
            weights = torch.empty(len(rows)).uniform_(*self.mix_weight, generator=gen).tolist()
        return {"rows": rows, "classes": chosen, "seeds": seeds, "weights": weights}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        rows = params["rows"]
        if rows is None:
            return inpt
        # (..., n_mels, time) tensors: see ganaug.generation.spectrograms
        if modality_of(self.sampler.data).features_like_input:
            return self._transform_spectrogram(inpt, params)
        spec = F.describe(inpt, self.mean, self.std)
        weights = params["weights"]
        out = F.render(self.sampler.seeded(params["classes"], params["seeds"]), self.sampler.data, spec)
        if not spec.batched:
            return out if weights is None else F.blend(inpt, out, weights[0])
        index = torch.as_tensor(rows, device=inpt.device)
        if weights is not None:
            out = F.blend(inpt[index], out, torch.tensor(weights))
        result = inpt.clone()
        result[index] = out
        return result

    def _transform_spectrogram(self, inpt: Any, params: dict[str, Any]) -> Any:
        """``transform`` for a spectrogram model: float tensors ``(..., n_mels, time)``."""
        rows = params["rows"]
        if not isinstance(inpt, torch.Tensor) or not inpt.is_floating_point() or inpt.ndim < 2:
            raise GanaugError(
                f"a spectrogram model augments float tensors shaped (..., n_mels, time), got {type(inpt).__name__}"
                + (f" {tuple(inpt.shape)} {inpt.dtype}" if isinstance(inpt, torch.Tensor) else "")
                + "; for waveforms use ganaug.generation.spectrograms.GANAugmentWaveform"
            )
        sampler, weights = self.sampler, params["weights"]
        if inpt.ndim != 4:
            # a function of (class, seed): replayable
            drawn = sampler.seeded(params["classes"][:1], params["seeds"][:1])
            out = F.spectrogram_like(drawn, sampler.data, inpt, self.mean, self.std)
            return out if weights is None else torch.lerp(inpt, out, float(weights[0]))
        index = torch.as_tensor(rows, device=inpt.device)
        drawn = sampler.seeded(params["classes"], params["seeds"])
        out = F.spectrogram_like(drawn, sampler.data, inpt[index], self.mean, self.std)
        if weights is not None:
            w = torch.tensor(weights, dtype=inpt.dtype, device=inpt.device).view(-1, 1, 1, 1)
            out = torch.lerp(inpt[index], out, w)
        result = inpt.clone()
        result[index] = out
        return result
