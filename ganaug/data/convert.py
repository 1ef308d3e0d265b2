"""Data space <-> model space: the one place where pixels become [-1, 1] tensors and back, driven by DataConfig.

Data space is what the user's files hold (H x W x C, uint8 / uint16 / float32, a value range); model space is what
the networks see (C x H x W float32 in [-1, 1]). ``value_range[0]`` maps to -1 and ``value_range[1]`` to 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..config import DataConfig, parse_resolution
from ..errors import GanaugError
from ..fileio import atomic_write, write_bytes
from .images import IMAGE_SUFFIXES, decode_image, encode_png16, read_image

__all__ = [
    "IMAGE_SUFFIXES",
    "assemble",
    "batch_to_model",
    "convert_channels",
    "decode_image",
    "read_image",
    "to_data",
    "to_model",
    "write_sample",
]

_FULL_SCALE = {"uint8": 255.0, "uint16": 65535.0}
_SUFFIX = {"png": ".png", "npy": ".npy", "tiff": ".tiff"}
_REPLACED_SUFFIXES = {".png", ".npy", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".dcm", ".nii", ".gz"}
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_CHANNEL_NAMES = {1: "gray", 3: "RGB", 4: "RGBA"}


def check_class_indices(labels: np.ndarray, what: str) -> None:
    """Integer labels are class indices 0..K-1: K is 1 + the largest, so a stray huge value would make (and
    allocate) that many classes. A clear error when K is over ``max(1000, 10 x the distinct values)``."""
    if not labels.size:
        return
    top, distinct = int(labels.max()), len(np.unique(labels))
    limit = max(1000, 10 * distinct)
    if top + 1 > limit:
        raise GanaugError(
            f"{what} holds the label {top} among only {distinct} distinct value(s); labels must be class indices "
            f"0..K-1, and {top + 1} classes is over the limit of {limit} here: renumber the classes from 0"
        )


def to_model(array: np.ndarray, value_range: Sequence[float]) -> torch.Tensor:
    """One H x W or H x W x C array (any dtype) -> a C x H x W float32 tensor, ``value_range`` mapped to [-1, 1]."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise GanaugError(f"to_model expects an H x W or H x W x C array, got shape {tuple(array.shape)}")
    return batch_to_model(array[None], value_range)[0]


def batch_to_model(batch_nhwc: np.ndarray, value_range: Sequence[float]) -> torch.Tensor:
    """An N x H x W x C array -> an N x C x H x W float32 tensor in model space."""
    lo, hi = float(value_range[0]), float(value_range[1])
    if hi <= lo:
        raise GanaugError(f"value range {[lo, hi]} is empty; it must be [low, high] with low < high")
    arr = np.asarray(batch_nhwc)
    t = torch.from_numpy(np.ascontiguousarray(arr) if arr.dtype == np.uint8 else arr.astype(np.float32))
    x = t.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format)
    return x.sub_(lo).mul_(2.0 / (hi - lo)).sub_(1.0)


def to_data(x: torch.Tensor, config: DataConfig) -> np.ndarray:
    """N x C x H x W (or C x H x W) model space -> N x H x W x C (or H x W x C) of ``config.dtype``.

    Values are clipped to the value range, and rounded for integer dtypes.
    """
    arr = torch.as_tensor(x).detach().to("cpu", torch.float64).numpy()
    if arr.ndim not in (3, 4):
        raise GanaugError(f"to_data expects N x C x H x W or C x H x W, got shape {tuple(arr.shape)}")
    lo, hi = (float(v) for v in config.value_range)
    arr = (np.clip(arr, -1.0, 1.0) + 1.0) * ((hi - lo) / 2.0) + lo
    arr = np.moveaxis(arr, -3, -1)
    dtype = np.dtype(config.dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.ascontiguousarray(np.clip(np.rint(arr), info.min, info.max).astype(dtype))
    return np.ascontiguousarray(arr.astype(dtype))


def write_sample(path: str | Path, array_hwc: np.ndarray, config: DataConfig) -> Path:
    """Write one H x W x C data-space sample as ``config.file_format`` (png / npy / tiff), atomically.

    PNGs are 8-bit for uint8 and 16-bit for uint16 data. The returned path has the format's suffix.
    """
    fmt = config.file_format
    if fmt not in _SUFFIX:
        raise GanaugError(f"file format {fmt!r} is not accepted; choose one of {', '.join(_SUFFIX)}")
    arr = np.asarray(array_hwc)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise GanaugError(f"a sample must be H x W x C with C = 1, 3 or 4, got shape {tuple(arr.shape)}")
    path = Path(path)
    if not (fmt == "tiff" and path.suffix.lower() in (".tif", ".tiff")):
        # a file extension is replaced; anything else after a dot is part of the name ("v1.2_0_00000", "._x")
        known = path.suffix.lower() in _REPLACED_SUFFIXES
        path = path.with_suffix(_SUFFIX[fmt]) if known else path.with_name(path.name + _SUFFIX[fmt])
    plane = arr[..., 0] if arr.shape[-1] == 1 else arr
    if fmt == "npy":

        def _save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, plane, allow_pickle=False)

        return atomic_write(path, _save)
    if fmt == "png":
        if arr.dtype == np.uint16:
            return write_bytes(path, encode_png16(arr))
        if arr.dtype != np.uint8:
            raise GanaugError(f"PNG holds 8- or 16-bit integers, not {arr.dtype}; write {path.name} as npy instead")
        return atomic_write(path, lambda tmp: Image.fromarray(plane).save(tmp, format="PNG"))
    try:
        import tifffile
    except ImportError:
        tifffile = None
    if tifffile is not None:
        kwargs = {"photometric": "minisblack"} if arr.shape[-1] == 1 else {"photometric": "rgb"}
        if arr.shape[-1] == 4:
            kwargs["extrasamples"] = (2,)  # unassociated alpha
        return atomic_write(path, lambda tmp: tifffile.imwrite(tmp, plane, **kwargs))
    if arr.dtype == np.uint8 or arr.shape[-1] == 1:
        return atomic_write(path, lambda tmp: Image.fromarray(plane).save(tmp, format="TIFF"))
    raise GanaugError(f"writing a {arr.dtype} colour TIFF needs tifffile: pip install tifffile")


def convert_channels(batch_nhwc: np.ndarray, channels: int, opaque: float | None = None) -> np.ndarray:
    """Convert N x H x W x C to ``channels``: gray->RGB replicates, RGB->gray is luminance, alpha dropped or opaque."""
    c = batch_nhwc.shape[-1]
    if c == channels:
        return batch_nhwc
    dtype = batch_nhwc.dtype
    if opaque is None:
        opaque = np.iinfo(dtype).max if dtype.kind in "ui" else 1.0
    if channels == 1:
        gray = batch_nhwc[..., :3].astype(np.float32) @ _LUMA
        if dtype.kind in "ui":
            gray = np.clip(np.rint(gray), 0, np.iinfo(dtype).max)
        return gray.astype(dtype)[..., None]
    rgb = np.repeat(batch_nhwc, 3, axis=-1) if c == 1 else batch_nhwc[..., :3]
    if channels == 3:
        return np.ascontiguousarray(rgb)
    alpha = batch_nhwc[..., 3:] if c == 4 else np.full(batch_nhwc.shape[:-1] + (1,), opaque, dtype)
    return np.concatenate([rgb, alpha], axis=-1)


def assemble(
    samples: Sequence[np.ndarray],
    labels: Sequence[int],
    class_names: list[str],
    *,
    format: str,
    source: str,
    resolution: str | int = "auto",
    channels: int = 0,
    source_kind: str = "image",
    physical_values: bool = False,
    notes: list[str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, DataConfig]:
    """Bring decoded H x W x C samples to one size, channel count and dtype, in model space, with their DataConfig.

    ``source_kind`` is what most files were ("image", "tiff" or "npy"); it picks how samples are written back.
    Conversions made are appended to ``notes``. Integer images beside float ones are rescaled by their full scale
    (255, 65535) onto the floats' [0, 1], unless ``physical_values`` (medical volumes: integers and floats in one
    physical unit) keeps every value as it is.
    """
    notes = notes if notes is not None else []
    n = len(samples)
    if n == 0:
        raise GanaugError(f"no images found in {source!r}")
    sizes = Counter(a.shape[:2] for a in samples)
    (h, w), n_common = max(sizes.items(), key=lambda kv: (kv[1], kv[0]))
    if channels:
        if channels not in (1, 3, 4):
            raise GanaugError(f"channels={channels} is not accepted; choose 1 (gray), 3 (RGB), 4 (RGBA) or 0 (auto)")
        target_c = channels
    else:
        counts = Counter(a.shape[2] for a in samples)
        target_c = max(counts, key=lambda c: (counts[c], c))
    kinds = {a.dtype.str for a in samples}
    integer_scale: dict[str, float] = {}  # integer dtypes rescaled to [0, 1] beside float files in [0, 1]
    if any(np.dtype(k).kind == "f" for k in kinds):
        dtype = "float32"
        floats = [a for a in samples if a.dtype.kind == "f"]
        lo, hi = float(min(a.min() for a in floats)), float(max(a.max() for a in floats))
        if len(floats) < n and not physical_values:
            integer_scale = _mixed_integer_scale(samples, lo, hi)
            lo, hi = min(lo, 0.0), max(hi, 1.0)
        elif len(floats) < n:
            lo, hi = float(min(a.min() for a in samples)), float(max(a.max() for a in samples))
        hi = hi if hi > lo else lo + 1.0
        value_range = [lo, hi]
        notes.append(f"float data: value range [{lo:g}, {hi:g}] (the minimum and maximum over the dataset)")
        if len(floats) < n and physical_values:
            notes.append("integer and float medical values in one physical unit: read as they are, not rescaled")
        if integer_scale:
            kinds_text = ", ".join(f"{k} / {v:g}" for k, v in integer_scale.items())
            notes.append(f"{n - len(floats)} integer files beside float files in [0, 1]: rescaled to [0, 1] "
                         f"({kinds_text})")  # fmt: skip
    else:
        dtype = "uint16" if np.dtype(np.uint16).str in kinds else "uint8"
        value_range = [0.0, 65535.0 if dtype == "uint16" else 255.0]
    th, tw = parse_resolution(resolution, (h, w))
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(samples):
        groups.setdefault((a.shape, a.dtype.str), []).append(i)
    out = torch.empty(n, target_c, th, tw, dtype=torch.float32)
    channel_changes: Counter = Counter()
    n_deepened = 0
    max16 = 0
    chunks = [(shape, idx[i : i + 256]) for (shape, _), idx in groups.items() for i in range(0, len(idx), 256)]
    for shape, idx in chunks:
        batch = np.stack([samples[i] for i in idx])
        if batch.dtype.name in integer_scale:
            batch = batch.astype(np.float32) / np.float32(integer_scale[batch.dtype.name])
        batch = convert_channels(batch, target_c, opaque=value_range[1] if dtype == "float32" else None)
        if shape[2] != target_c:
            channel_changes[(shape[2], target_c)] += len(idx)
        if dtype == "uint16" and batch.dtype == np.uint8:
            batch = batch.astype(np.uint16) * 257
            n_deepened += len(idx)
        if dtype == "uint16":
            max16 = max(max16, int(batch.max()))
        x = batch_to_model(batch, value_range)
        if x.shape[-2:] != (th, tw):
            x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True).clamp_(-1, 1)
        out[torch.as_tensor(idx)] = x
    if n_common < n:
        others = ", ".join(f"{a}x{b}" for (a, b), _ in sizes.most_common() if (a, b) != (h, w))
        notes.append(f"resized {n - n_common} images of other sizes ({_short(others)}) to {th}x{tw}")
    if (th, tw) != (h, w):
        notes.append(f"resized {n_common} images from {h}x{w} to {th}x{tw} (resolution={resolution!r})")
    for (a, b), k in sorted(channel_changes.items()):
        notes.append(f"converted {k} images from {a} to {b} channels ({_CHANNEL_NAMES[a]} to {_CHANNEL_NAMES[b]})")
    if n_deepened:
        notes.append(f"converted {n_deepened} 8-bit images to 16-bit (values x257)")
    if dtype == "uint16" and max16 < 16384:
        notes.append(f"16-bit data uses values up to {max16} of 65535; samples keep that scale")
    labels_t = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    counts = torch.bincount(labels_t, minlength=len(class_names)).tolist() if n else []
    if dtype == "float32" or source_kind == "npy":
        file_format = "npy"
    elif source_kind == "tiff" and dtype == "uint16":
        file_format = "tiff"
    else:
        file_format = "png"
    config = DataConfig(
        modality="image",
        format=format,
        source=source,
        height=th,
        width=tw,
        channels=target_c,
        dtype=dtype,
        value_range=value_range,
        file_format=file_format,
        class_names=list(class_names),
        class_counts=counts[: len(class_names)],
    )
    return out, labels_t, config


def _mixed_integer_scale(samples: Sequence[np.ndarray], lo: float, hi: float) -> dict[str, float]:
    """How integer files are rescaled beside float ones: by their full scale (255, 65535) onto [0, 1], where the
    float files use [0, 1] (the common convention); any other float range cannot be matched safely: an error."""
    ints = Counter(a.dtype.name for a in samples if a.dtype.kind != "f")
    if lo < 0.0 or hi > 1.0:
        listed = ", ".join(f"{k} {name}" for name, k in sorted(ints.items()))
        raise GanaugError(
            f"DATA mixes integer images ({listed}) with float images whose values lie in [{lo:g}, {hi:g}], outside "
            "[0, 1]: there is no safe common scale for the two. Save every image the same way (all 8- or 16-bit, "
            "or all float), or scale the float images to [0, 1] (integer images are then read as value / 255 or "
            "value / 65535)"
        )
    unknown = [name for name in ints if name not in _FULL_SCALE]
    if unknown:
        raise GanaugError(f"DATA mixes float images with integer images of dtype {unknown[0]}; accepted integer "
                          "dtypes beside float images: uint8, uint16")  # fmt: skip
    return {name: _FULL_SCALE[name] for name in ints}


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(",", 1)[0] + ", ..."
