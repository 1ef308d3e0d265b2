"""Decode and encode single image files: PNG/JPEG/BMP/TIFF (8- and 16-bit) and ``.npy`` arrays, as H x W x C numpy.

Pillow reads 16-bit colour PNGs as 8-bit and cannot write them, so a small PNG codec for 16-bit samples lives here.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import GanaugError

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy")
FORMATS_TEXT = "PNG, JPEG, BMP, TIFF (8- or 16-bit; gray, RGB or RGBA) and .npy arrays (H x W or H x W x C)"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_PIXELS = 64_000_000
"""The largest image ganaug decodes (width x height), checked from the file's header before decoding: a small file
can unpack to gigabytes. ``GANAUG_MAX_IMAGE_PIXELS`` raises or lowers it."""


def check_pixels(width: int, height: int, name: str) -> None:
    """A clear error for an image larger than :data:`MAX_IMAGE_PIXELS` (or ``GANAUG_MAX_IMAGE_PIXELS``)."""
    import os

    limit = int(os.environ.get("GANAUG_MAX_IMAGE_PIXELS") or MAX_IMAGE_PIXELS)
    if width * height > limit:
        raise GanaugError(
            f"{name!r} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), over the limit of "
            f"{limit / 1e6:g} megapixels for one image (a small file can unpack to gigabytes); set "
            "GANAUG_MAX_IMAGE_PIXELS to allow larger images"
        )


def read_image(path: str | Path) -> np.ndarray:
    """Decode one image file to an H x W x C array keeping its dtype (uint8, uint16 or float32)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GanaugError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    return decode_image(data, str(path))


def decode_image(data: bytes, name: str, suffix: str | None = None) -> np.ndarray:
    """Decode the bytes of one image file; ``name`` is used in error messages and, unless given, for the suffix."""
    if not data:
        raise GanaugError(f"{name!r} is an empty (zero-byte) file; accepted formats: {FORMATS_TEXT}")
    suffix = (Path(name).suffix if suffix is None else suffix).lower()
    try:
        if suffix == ".npy" or data[:6] == b"\x93NUMPY":
            array = np.load(io.BytesIO(data), allow_pickle=False)
        elif data[:8] == _PNG_SIGNATURE and data[24:25] == b"\x10" and data[25] in (2, 4, 6):
            check_pixels(*struct.unpack(">II", data[16:24]), name)
            array = _decode_png16(data)
        elif suffix in (".tif", ".tiff") and _tifffile() is not None:
            with _tifffile().TiffFile(io.BytesIO(data)) as tif:
                page = tif.pages[0]
                check_pixels(int(page.imagewidth), int(page.imagelength), name)
                array = page.asarray()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below says it better
                with Image.open(io.BytesIO(data)) as img:
                    check_pixels(*img.size, name)
                    img.load()
                    array = pil_to_array(img)
    except GanaugError:
        raise
    except Exception as exc:  # decoders raise many types for a bad file
        raise GanaugError(
            f"cannot decode {name!r} ({type(exc).__name__}: {exc}); accepted formats: {FORMATS_TEXT}"
        ) from exc
    return normalize_array(array, name)


def pil_to_array(img: Image.Image) -> np.ndarray:
    """A PIL image as a numpy array: uint8 for 8-bit modes, uint16 for 16-bit gray, float32 for ``F``."""
    mode = img.mode
    if mode == "1":
        img = img.convert("L")
    elif mode in ("P", "PA"):
        img = img.convert("RGBA" if mode == "PA" or "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "RGBa"):
        img = img.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    array = np.asarray(img)
    if img.mode.startswith("I;16"):
        return array.astype(np.uint16)
    if img.mode == "I":
        if array.size and array.min() >= 0 and array.max() <= 65535:
            return array.astype(np.uint16)
        return array.astype(np.float32)
    return array


def normalize_array(array: np.ndarray, name: str) -> np.ndarray:
    """Bring a decoded array to H x W x C with C in 1, 3, 4 and dtype uint8, uint16 or float32."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] not in (1, 2, 3, 4) and array.shape[0] in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)  # C x H x W (planar TIFF, channels-first .npy)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise GanaugError(
            f"{name!r} has shape {tuple(array.shape)}; an image must be H x W or H x W x C with C = 1, 3 or 4"
        )
    if array.shape[-1] == 2:  # gray + alpha -> RGBA
        array = np.concatenate([array[..., :1]] * 3 + [array[..., 1:]], axis=-1)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "u" and array.dtype.itemsize in (1, 2):
        array = array.astype(np.uint8 if array.dtype.itemsize == 1 else np.uint16, copy=False)
    else:
        if array.dtype.kind not in "uif":
            raise GanaugError(f"{name!r} has dtype {array.dtype}; images must hold numbers")
        array = array.astype(np.float32)
        if not np.isfinite(array).all():
            raise GanaugError(f"{name!r} contains NaN or infinite values")
    return np.ascontiguousarray(array)


def _tifffile():
    try:
        import tifffile
    except ImportError:
        return None
    return tifffile


# --- 16-bit PNG codec (non-interlaced; gray, gray+alpha, RGB, RGBA) ------------------------------------------------

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOR_TYPES.items()}


def encode_png16(array_hwc: np.ndarray) -> bytes:
    """Encode an H x W x C uint16 array (C = 1, 2, 3 or 4) as a 16-bit PNG."""
    h, w, c = array_hwc.shape
    raw = np.ascontiguousarray(array_hwc.astype(">u2")).view(np.uint8).reshape(h, w * c * 2)
    filtered = raw.copy()
    filtered[1:] -= raw[:-1]  # "Up" filter (uint8 arithmetic wraps, as PNG wants)
    rows = np.concatenate([np.full((h, 1), 2, np.uint8), filtered], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, _COLOR_TYPES[c], 0, 0, 0)
    idat = zlib.compress(rows.tobytes(), 6)
    return _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _decode_png16(data: bytes) -> np.ndarray:
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise ValueError("truncated PNG chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise ValueError("PNG without IHDR or IDAT")
    w, h, _, color_type, _, _, interlace = header
    if interlace:
        raise ValueError("interlaced 16-bit colour PNG is not supported; save it non-interlaced or as TIFF")
    c = _CHANNELS[color_type]
    bpp, stride = 2 * c, 2 * c * w
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    if raw.size < h * (stride + 1):
        raise ValueError("truncated PNG image data")
    rows = raw[: h * (stride + 1)].reshape(h, stride + 1)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    for y in range(h):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:
            cur = np.cumsum(line.reshape(w, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            cur = line + prev
        elif kind in (3, 4):
            cur = _unfilter_slow(int(kind), line.tobytes(), prev.tobytes(), bpp)
        else:
            raise ValueError(f"bad PNG filter type {kind}")
        out[y] = prev = cur
    return out.view(">u2").reshape(h, w, c).astype(np.uint16)


def _unfilter_slow(kind: int, line: bytes, prev: bytes, bpp: int) -> np.ndarray:
    cur = bytearray(len(line))
    for i, f in enumerate(line):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 3:
            cur[i] = (f + ((a + b) >> 1)) & 0xFF
        else:
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (f + pred) & 0xFF
    return np.frombuffer(bytes(cur), np.uint8)
