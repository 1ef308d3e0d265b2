"""Pure functions: turn model-space samples into the type, size, channels, dtype and value range of a given image.

``describe(image)`` records what an image is (an ``ImageSpec``); ``render(x, data, spec)`` turns model-space samples
(N x C x H x W in [-1, 1], with the generator's ``DataConfig``) into that; ``blend`` mixes two images of one type.
``spectrogram_like`` turns a spectrogram model's samples into log-mel values shaped like a given spectrogram.

Values go through a *unit* scale: the generator's data space divided by its dtype's full scale (255 for uint8,
65535 for uint16, 1 for float data), so 0..1 for integer data. The unit maps onto the target by its type:

- uint8 / uint16 (PIL, tensors, numpy): times 255 / 65535, rounded;
- float with ``mean``/``std`` given (as passed to ``Normalize``): ``(unit - mean) / std`` per channel;
- float without them, detected from the image's values: within [0, 1] -> unchanged (the torchvision and
  albumentations convention); within [-1, 1] with negative values -> ``2 * unit - 1`` (``Normalize(0.5, 0.5)``);
  otherwise each channel's own [min, max] in the image (a guess, with a warning: pass ``mean``/``std`` instead).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import tv_tensors

from ..config import DataConfig
from ..data.convert import convert_channels, to_data
from ..errors import GanaugError, GanaugTypeError, GanaugValueError

if TYPE_CHECKING:
    from ..generation.sampling import Sampler

__all__ = [
    "SUPPORTED",
    "ImageSpec",
    "blend",
    "data_spec",
    "describe",
    "finish",
    "prepare",
    "prepared_draw",
    "render",
    "spectrogram_like",
]

SUPPORTED = (
    "PIL images of mode L, RGB, RGBA or I;16; torch tensors and tv_tensors.Image (C x H x W, H x W, H x W x C or "
    "N x C x H x W; uint8, uint16 or float); numpy arrays (H x W or H x W x C; uint8, uint16 or float); "
    "with 1, 3 or 4 channels"
)
PIL_MODES = {"L": (1, "uint8"), "RGB": (3, "uint8"), "RGBA": (4, "uint8"), "I;16": (1, "uint16")}
FULL_SCALE = {"uint8": 255.0, "uint16": 65535.0}
_TORCH_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TORCH_INTS = {torch.uint8: "uint8", torch.uint16: "uint16"}
_warned_guess = False


@dataclass(frozen=True)
class ImageSpec:
    """What an image is: ``kind`` (pil, tensor, tv_image, numpy), size, channels, dtype, and the value mapping
    ``value = unit * gain + offset`` per channel. ``layout`` is chw, hw, hwc or nchw (tensors), hwc or hw (numpy).
    """

    kind: str
    height: int
    width: int
    channels: int
    dtype: str
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    layout: str = "hwc"
    mode: str | None = None
    device: str = "cpu"

    @property
    def batched(self) -> bool:
        return self.layout == "nchw"


def _unsupported(what: str, bad_value: bool = False) -> GanaugError:
    """A GanaugTypeError for an input type or dtype ganaug cannot return, a GanaugValueError for a bad shape."""
    error = GanaugValueError if bad_value else GanaugTypeError
    return error(f"cannot return an image like the input: {what}. Supported inputs: {SUPPORTED}")


def _per_channel(value: float | Sequence[float], channels: int, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.size == 1:
        arr = np.repeat(arr, channels)
    if arr.shape != (channels,):
        raise GanaugValueError(
            f"{name} has {arr.size} values for an image with {channels} channels; give 1 or {channels}"
        )
    return arr


def _float_mapping(
    lows: np.ndarray, highs: np.ndarray, mean: Any, std: Any, channels: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """gain/offset for a float image from ``mean``/``std``, or else from its per-channel minimum and maximum."""
    global _warned_guess
    if mean is not None or std is not None:
        m = _per_channel(0.0 if mean is None else mean, channels, "mean")
        s = _per_channel(1.0 if std is None else std, channels, "std")
        if (s <= 0).any():
            raise GanaugValueError(f"std must be > 0, got {list(s)}")
        return tuple(1.0 / s), tuple(-m / s)
    lo, hi = float(lows.min()), float(highs.max())
    if lo >= 0.0 and hi <= 1.0:
        return (1.0,) * channels, (0.0,) * channels
    if lo >= -1.0 and hi <= 1.0:
        return (2.0,) * channels, (-1.0,) * channels
    if not _warned_guess:
        _warned_guess = True
        warnings.warn(
            "a float image outside [0, 1] and [-1, 1]: synthetic samples are scaled to each channel's [min, max] in "
            "the image; pass mean= and std= (the values of your Normalize) for an exact mapping",
            stacklevel=3,
        )
    gain = np.where(highs > lows, highs - lows, 1.0)
    return tuple(float(g) for g in gain), tuple(float(v) for v in lows)


def describe(image: Any, mean: Any = None, std: Any = None) -> ImageSpec:
    """The ``ImageSpec`` of a PIL image, a tensor / ``tv_tensors.Image`` or a numpy array (see ``SUPPORTED``); an
    image without pixels (a height or width of 0) is a clear error."""
    spec = _describe(image, mean, std)
    if spec.height < 1 or spec.width < 1:
        raise GanaugValueError(
            f"got an image of {spec.height}x{spec.width} pixels: there is nothing to replace; remove empty images "
            "from the data (every image needs a height and a width of at least 1)"
        )
    return spec


def _describe(image: Any, mean: Any, std: Any) -> ImageSpec:
    if isinstance(image, Image.Image):
        if image.mode not in PIL_MODES:
            raise _unsupported(f"a PIL image of mode {image.mode!r} (convert it, e.g. image.convert('RGB'))")
        c, dtype = PIL_MODES[image.mode]
        return ImageSpec(
            "pil", image.height, image.width, c, dtype, (FULL_SCALE[dtype],) * c, (0.0,) * c, mode=image.mode
        )
    if isinstance(image, torch.Tensor):
        return _describe_tensor(image, mean, std)
    if isinstance(image, np.ndarray):
        return _describe_numpy(image, mean, std)
    raise _unsupported(f"a {type(image).__module__}.{type(image).__name__}")


def _describe_tensor(image: torch.Tensor, mean: Any, std: Any) -> ImageSpec:
    kind = "tv_image" if isinstance(image, tv_tensors.Image) else "tensor"
    if isinstance(image, tv_tensors.TVTensor) and kind != "tv_image":
        raise _unsupported(f"a tv_tensors.{type(image).__name__}")
    shape = tuple(image.shape)
    if image.ndim == 2:
        layout, (h, w), c = "hw", shape, 1
    elif image.ndim == 3 and shape[0] in (1, 3, 4):
        layout, (c, h, w) = "chw", shape
    elif image.ndim == 3 and shape[-1] in (1, 3, 4) and kind == "tensor":
        layout, (h, w, c) = "hwc", shape  # e.g. a Hugging Face dataset with the torch format
    elif image.ndim == 4 and shape[1] in (1, 3, 4):
        layout, (_, c, h, w) = "nchw", shape
    else:
        raise _unsupported(f"a tensor of shape {shape}", bad_value=True)
    dt = image.dtype
    if dt in _TORCH_INTS:
        name = _TORCH_INTS[dt]
        gain, offset = (FULL_SCALE[name],) * c, (0.0,) * c
    elif dt in _TORCH_FLOATS:
        name = str(dt).removeprefix("torch.")
        lows = highs = np.zeros(c)
        if mean is None and std is None and image.numel():
            dims = {"hw": None, "chw": (1, 2), "hwc": (0, 1), "nchw": (0, 2, 3)}[layout]
            v = image.detach().float()
            lo, hi = (v.amin(), v.amax()) if dims is None else (v.amin(dim=dims), v.amax(dim=dims))
            lows, highs = np.atleast_1d(lo.cpu().numpy()), np.atleast_1d(hi.cpu().numpy())
        gain, offset = _float_mapping(lows, highs, mean, std, c)
    else:
        raise _unsupported(f"a tensor of dtype {dt}")
    return ImageSpec(kind, int(h), int(w), int(c), name, gain, offset, layout=layout, device=str(image.device))


def _describe_numpy(image: np.ndarray, mean: Any, std: Any) -> ImageSpec:
    if image.ndim == 2:
        layout, (h, w), c = "hw", image.shape, 1
    elif image.ndim == 3 and image.shape[-1] in (1, 3, 4):
        layout, (h, w, c) = "hwc", image.shape
    else:
        raise _unsupported(f"a numpy array of shape {image.shape}", bad_value=True)
    name = image.dtype.name
    if name in FULL_SCALE:
        gain, offset = (FULL_SCALE[name],) * c, (0.0,) * c
    elif image.dtype.kind == "f":
        lows = highs = np.zeros(c)
        if mean is None and std is None and image.size:
            flat = image.reshape(-1, c)
            lows, highs = flat.min(axis=0).astype(np.float64), flat.max(axis=0).astype(np.float64)
        gain, offset = _float_mapping(lows, highs, mean, std, c)
    else:
        raise _unsupported(f"a numpy array of dtype {image.dtype}")
    return ImageSpec("numpy", int(h), int(w), int(c), name, gain, offset, layout=layout)


def data_spec(data: DataConfig, height: int = 0, width: int = 0, channels: int = 0) -> ImageSpec:
    """An H x W x C numpy spec in the generator's own data space (dtype and values), optionally resized/rechannelled."""
    c = channels or data.channels
    scale = FULL_SCALE.get(data.dtype, 1.0)
    h, w = height or data.height, width or data.width
    return ImageSpec("numpy", h, w, c, data.dtype, (scale,) * c, (0.0,) * c, layout="hwc")


def to_unit(x: torch.Tensor, data: DataConfig) -> np.ndarray:
    """Model space (N x C x H x W) -> N x H x W x C float32 on the unit scale (data space / the dtype's full scale)."""
    values = to_data(x, data)
    scale = FULL_SCALE.get(np.dtype(values.dtype).name, 1.0)
    return values.astype(np.float32) / np.float32(scale)


def prepare(x: torch.Tensor, data: DataConfig, channels: int, height: int, width: int) -> np.ndarray:
    """Model space (N x C x H x W) -> N x height x width x channels float32 on the unit scale: the costly part of
    ``render``, done once per batch (gray <-> RGB, alpha, bilinear antialiased resize)."""
    unit = convert_channels(to_unit(x, data), channels, opaque=1.0)
    if unit.shape[1:3] != (height, width):
        t = torch.from_numpy(np.ascontiguousarray(unit)).permute(0, 3, 1, 2)
        t = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
        unit = t.permute(0, 2, 3, 1).numpy()
    return unit


def finish(unit: np.ndarray, spec: ImageSpec) -> Any:
    """Prepared unit-scale samples (N x H x W x C, the spec's size and channels) -> one image like ``spec`` (N = 1),
    or an N x C x H x W tensor for an nchw spec."""
    if not spec.batched and unit.shape[0] != 1:
        raise GanaugValueError(f"a single image needs one sample, got {unit.shape[0]}")
    values = unit * np.asarray(spec.gain, np.float32) + np.asarray(spec.offset, np.float32)
    if spec.kind in ("pil", "numpy"):
        arr = _cast_numpy(values, spec.dtype)[0]
        plane = arr[..., 0] if spec.channels == 1 and (spec.kind == "pil" or spec.layout == "hw") else arr
        return Image.fromarray(plane) if spec.kind == "pil" else plane
    t = _cast_torch(torch.from_numpy(np.ascontiguousarray(values)).permute(0, 3, 1, 2), spec.dtype)
    t = {"nchw": t, "chw": t[0], "hw": t[0, 0], "hwc": t[0].permute(1, 2, 0)}[spec.layout].contiguous()
    t = t.to(spec.device)
    return tv_tensors.Image(t) if spec.kind == "tv_image" else t


def render(x: torch.Tensor, data: DataConfig, spec: ImageSpec) -> Any:
    """Model-space samples -> one image like ``spec`` (N must be 1), or an N x C x H x W tensor for an nchw spec."""
    if x.ndim == 3:
        x = x[None]
    return finish(prepare(x, data, spec.channels, spec.height, spec.width), spec)


def prepared_draw(sampler: Sampler, label: Any, spec: ImageSpec) -> Any:
    """The next buffered sample of class ``label`` from ``sampler``, rendered like ``spec``; the costly conversion
    is done for a whole buffer at a time and kept per (class, channels, size)."""
    data = sampler.data
    size = (spec.channels, spec.height, spec.width)
    unit = sampler.draw_prepared(label, size, lambda batch: np.split(prepare(batch, data, *size), len(batch)))
    return finish(unit, spec)


def _cast_numpy(values: np.ndarray, dtype: str) -> np.ndarray:
    if dtype in FULL_SCALE:
        return np.clip(np.rint(values), 0, FULL_SCALE[dtype]).astype(dtype)
    return values.astype(dtype)


def _cast_torch(values: torch.Tensor, dtype: str) -> torch.Tensor:
    if dtype in FULL_SCALE:
        return values.round().clamp_(0, FULL_SCALE[dtype]).to(getattr(torch, dtype))
    return values.to(getattr(torch, dtype))


def blend(real: Any, synthetic: Any, weight: float | torch.Tensor) -> Any:
    """``(1 - weight) * real + weight * synthetic`` in the images' own type and dtype (rounded for integers).

    For an N x C x H x W tensor, ``weight`` may hold one value per row.
    """
    if isinstance(real, Image.Image):
        mixed = _blend_array(np.asarray(real), np.asarray(synthetic), float(weight))
        return Image.fromarray(mixed)
    if isinstance(real, np.ndarray):
        return _blend_array(real, np.asarray(synthetic), float(weight))
    w = torch.as_tensor(weight, dtype=torch.float32, device=real.device)
    if w.ndim == 1:
        w = w.view(-1, *([1] * (real.ndim - 1)))
    mixed = real.float() * (1 - w) + synthetic.to(real.device).float() * w
    name = _TORCH_INTS.get(real.dtype) or str(real.dtype).removeprefix("torch.")
    out = _cast_torch(mixed.as_subclass(torch.Tensor), name)
    return tv_tensors.wrap(out, like=real) if isinstance(real, tv_tensors.Image) else out


def _blend_array(real: np.ndarray, synthetic: np.ndarray, weight: float) -> np.ndarray:
    mixed = real.astype(np.float32) * (1 - weight) + synthetic.astype(np.float32) * weight
    return _cast_numpy(mixed, real.dtype.name)


def spectrogram_like(
    x: torch.Tensor, data: DataConfig, like: torch.Tensor, mean: Any = None, std: Any = None
) -> torch.Tensor:
    """Model-space spectrograms ``(N, 1, n_mels, frames)`` -> log-mel values shaped like ``like``.

    ``like`` is one spectrogram ``(n_mels, time)`` / ``(channels, n_mels, time)`` (N = 1) or a batch
    ``(N, channels, n_mels, time)``. Values are the model's ``ln(mel + log_offset)`` (what ``LogMel`` gives), or
    ``(value - mean) / std`` with scalar ``mean``/``std`` (e.g. ``std=math.log(10) / 10`` gives decibels). Time is
    cropped, or padded with the model's floor (silence); channels repeat the mono sample.
    """
    values = torch.from_numpy(to_data(x, data))[..., 0]
    floor = float(data.value_range[0])
    if mean is not None or std is not None:
        try:
            m, sd = float(0.0 if mean is None else mean), float(1.0 if std is None else std)
        except (TypeError, ValueError):
            raise GanaugError(f"for spectrograms, mean and std are single numbers; got {mean!r}, {std!r}") from None
        values, floor = (values - m) / sd, (floor - m) / sd
    n_mels, time = like.shape[-2:]
    if n_mels != values.shape[-2]:
        raise GanaugError(
            f"the spectrogram has {n_mels} mel bands but the model makes {values.shape[-2]}: the features were "
            "computed with other settings (see ganaug.generation.spectrograms.check_settings and "
            "ganaug.generation.spectrograms.LogMel)"
        )
    if time <= values.shape[-1]:
        values = values[..., :time]
    else:
        pad = values.new_full((*values.shape[:-1], time - values.shape[-1]), floor)
        values = torch.cat([values, pad], dim=-1)
    if like.ndim == 4:
        values = values[:, None].expand(-1, like.shape[1], -1, -1)
    elif like.ndim == 3:
        values = values[0][None].expand(like.shape[0], -1, -1)
    elif like.ndim == 2:
        values = values[0]
    else:
        raise GanaugError(
            f"a spectrogram must be (n_mels, time), (channels, n_mels, time) or a batch; got {like.shape}"
        )
    return values.to(device=like.device, dtype=like.dtype).contiguous()
