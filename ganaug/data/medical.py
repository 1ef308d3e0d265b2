"""Medical images for the ``medical`` preset: DICOM (pydicom) and NIfTI slices (nibabel), windowing, bit depth.

Values are never squeezed into 8 bits. A DICOM or NIfTI image becomes:

- with a window (``--window center,width``, else a DICOM file's WindowCenter/WindowWidth tags): the DICOM linear
  VOI function of the rescaled values onto the full 16-bit range, uint16;
- without one (``--window none``, or no tags): the stored values as they are when they fit uint8/uint16, else
  float32 (signed or fractional values such as Hounsfield units), written back as ``.npy``.

``prepare_medical`` then fits the value range of 16-bit data to its bit depth (12-bit data stored in 16 bits keeps
values up to 4095, written back the same way) and keeps one channel for gray images stored as RGB.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import GanaugError
from ..modalities import modality_of

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
MEDICAL_SUFFIXES = DICOM_SUFFIXES + NIFTI_SUFFIXES
FULL16 = 65535.0

# Class meanings of MedMNIST v2 datasets (labels are the .npz values), used by the card when the file name matches.
MEDMNIST = {
    "breastmnist": ("BreastMNIST", {"0": "malignant", "1": "normal, benign"}),
    "pneumoniamnist": ("PneumoniaMNIST", {"0": "normal", "1": "pneumonia"}),
    "retinamnist": (
        "RetinaMNIST",
        {
            "0": "diabetic retinopathy grade 0 (none)",
            "1": "grade 1 (mild)",
            "2": "grade 2 (moderate)",
            "3": "grade 3 (severe)",
            "4": "grade 4 (proliferative)",
        },
    ),
    "octmnist": (
        "OCTMNIST",
        {"0": "choroidal neovascularization", "1": "diabetic macular edema", "2": "drusen", "3": "normal"},
    ),
    "dermamnist": (
        "DermaMNIST",
        {
            "0": "actinic keratoses and intraepithelial carcinoma",
            "1": "basal cell carcinoma",
            "2": "benign keratosis-like lesions",
            "3": "dermatofibroma",
            "4": "melanoma",
            "5": "melanocytic nevi",
            "6": "vascular lesions",
        },
    ),
}
MEDMNIST_URL = "https://medmnist.com/"
MEDMNIST_CITATION = "Yang et al., MedMNIST v2, Scientific Data 10:41 (2023)"


def is_medical(path: Path) -> bool:
    """A DICOM / NIfTI file by its name, or a DICOM file without a suffix (``DICM`` at byte 128)."""
    name = path.name.lower()
    if name.endswith(MEDICAL_SUFFIXES):
        return True
    if "." in name:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def parse_window(text: str) -> tuple[float, float] | None | str:
    """``"40,400"`` -> (40.0, 400.0); ``""`` -> ``"tags"`` (DICOM tags if present); ``"none"`` -> None."""
    text = (text or "").strip().lower()
    if text in ("", "auto", "tags"):
        return "tags"
    if text in ("none", "off", "raw"):
        return None
    parts = [p for p in re.split(r"[,\s]+", text) if p]
    try:
        center, width = (float(p) for p in parts)
    except ValueError:
        raise GanaugError(
            f"--window {text!r} is not accepted; give center,width (e.g. 40,400), none for raw values, "
            "or leave it empty for the DICOM window tags"
        ) from None
    if not width >= 1:
        raise GanaugError(f"--window width must be >= 1, got {width:g}")
    return center, width


def apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """The DICOM linear VOI function (PS3.3 C.11.2.1.2) onto 0..65535, as uint16."""
    x = values.astype(np.float64)
    lo, span = center - 0.5 - (width - 1) / 2, max(width - 1, 1e-9)
    y = ((x - (center - 0.5)) / span + 0.5) * FULL16
    y = np.where(x <= lo, 0.0, np.where(x > center - 0.5 + (width - 1) / 2, FULL16, y))
    return np.clip(np.rint(y), 0, FULL16).astype(np.uint16)


def stored_values(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Raw values in a dtype the readers keep: uint8/uint16 when they fit, else float32 (and why)."""
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return values, ""
    if values.dtype.kind in "iu" and values.size and values.min() >= 0 and values.max() <= FULL16:
        return values.astype(np.uint8 if values.max() <= 255 and values.dtype.itemsize == 1 else np.uint16), ""
    if values.dtype.kind not in "iuf":
        raise GanaugError(f"pixel values of dtype {values.dtype} are not numbers")
    return values.astype(np.float32), "signed or fractional values kept as float32 (pass --window C,W for 16-bit)"


def read_medical(path: Path, window: tuple[float, float] | None | str) -> tuple[list[np.ndarray], list[str]]:
    """Decode one DICOM or NIfTI file into H x W or H x W x C arrays, with short notes of what was done."""
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return _read_nifti(path, window)
    return _read_dicom(path, window)


def _read_dicom(path: Path, window: tuple[float, float] | None | str) -> tuple[list[np.ndarray], list[str]]:
    try:
        import pydicom
    except ImportError:
        raise GanaugError(
            f"{str(path)!r} is a DICOM file; reading DICOM needs pydicom: pip install 'ganaug[medical]'"
        ) from None
    try:
        ds = pydicom.dcmread(str(path), force=path.suffix.lower() in DICOM_SUFFIXES)
    except Exception as exc:  # pydicom raises several types for a damaged file
        raise GanaugError(f"cannot read {str(path)!r} as DICOM ({type(exc).__name__}: {exc})") from exc
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        kind = getattr(getattr(ds, "SOPClassUID", None), "name", "") or ds.get("Modality", "") or "unknown SOP class"
        raise GanaugError(f"{str(path)!r} is a DICOM file without pixel data ({kind}); only DICOM images can be read")
    try:
        pixels = ds.pixel_array
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        raise GanaugError(
            f"cannot decode the pixel data of {str(path)!r} (transfer syntax {getattr(syntax, 'name', syntax)}; "
            f"{type(exc).__name__}: {exc}). Compressed DICOM may need pylibjpeg or gdcm installed"
        ) from exc
    notes: list[str] = []
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples_per_pixel = int(ds.get("SamplesPerPixel", 1) or 1)
    arrays = list(pixels) if frames > 1 else [pixels]
    if frames > 1:
        notes.append("multi-frame DICOM read as one sample per frame")
    if samples_per_pixel > 1:
        return [np.asarray(a) for a in arrays], notes + ["colour DICOM read as it is (no windowing)"]
    if window == "tags":
        center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
        window = (_first(center), _first(width)) if center is not None and width is not None else None
        notes.append("window from DICOM tags" if window else "no window tags: stored values kept")
    elif window is not None:
        notes.append(f"window center {window[0]:g}, width {window[1]:g} applied")
    out = []
    for a in arrays:
        if window is not None:
            rescaled = _modality_lut(a, ds)
            values = apply_window(rescaled, *window)
        else:
            values, why = stored_values(np.asarray(a))
            notes += [why] if why else []
        if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
            values = _invert(values, ds, windowed=window is not None)
            notes.append("MONOCHROME1 inverted so that higher values are brighter")
        out.append(values)
    return out, notes


def _first(value) -> float:
    try:
        return float(value[0]) if not isinstance(value, (str, bytes, int, float)) else float(value)
    except (TypeError, IndexError, ValueError):
        return float(str(value).split("\\")[0])


def _modality_lut(values: np.ndarray, ds) -> np.ndarray:
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return values.astype(np.float64) * slope + intercept


def _invert(values: np.ndarray, ds, windowed: bool) -> np.ndarray:
    if values.dtype == np.uint16:
        top = FULL16 if windowed else float(2 ** min(16, int(ds.get("BitsStored", 16) or 16)) - 1)
        return (top - values.astype(np.float64)).clip(0, FULL16).astype(np.uint16)
    if values.dtype == np.uint8:
        return 255 - values
    return values.max() + values.min() - values


def _read_nifti(path: Path, window: tuple[float, float] | None | str) -> tuple[list[np.ndarray], list[str]]:
    try:
        import nibabel
    except ImportError:
        raise GanaugError(
            f"{str(path)!r} is a NIfTI volume; reading NIfTI needs nibabel: pip install nibabel"
        ) from None
    try:
        volume = np.asanyarray(nibabel.load(str(path)).dataobj)
    except Exception as exc:
        raise GanaugError(f"cannot read {str(path)!r} as NIfTI ({type(exc).__name__}: {exc})") from exc
    notes = []
    if volume.ndim == 4:
        volume = volume[..., 0]
        notes.append("4-D NIfTI: the first volume was read")
    if volume.ndim == 2:
        volume = volume[:, :, None]
    if volume.ndim != 3:
        raise GanaugError(f"{str(path)!r} has shape {volume.shape}; a NIfTI image must be 2-D, 3-D or 4-D")
    slices = [np.flipud(volume[:, :, k].T) for k in range(volume.shape[2])]
    kept = [s for s in slices if s.size and s.max() > s.min()]
    if not kept:
        raise GanaugError(f"{str(path)!r} holds only constant slices")
    if len(kept) < len(slices):
        notes.append("constant slices of NIfTI volumes skipped")
    notes.append("NIfTI volumes read as slices along the last axis")
    if isinstance(window, tuple):
        return [apply_window(s, *window) for s in kept], notes
    values = [stored_values(s) for s in kept]
    notes += sorted({why for _, why in values if why})
    return [v for v, _ in values], notes


# --- after reading: the medical preset's own handling ---------------------------------------------------------------


def prepare_medical(images: torch.Tensor, config: DataConfig, channels_asked: int, notes: list[str]) -> torch.Tensor:
    """Fit 16-bit data's value range to its bit depth and keep one channel for gray-as-RGB; returns the images.

    ``config`` (a DataConfig) is updated in place; what was done is appended to ``notes``.
    """
    if not modality_of(config).scan_handling:
        return images
    if config.dtype == "uint16":
        top = int(np.rint((images.max().item() + 1) / 2 * FULL16))
        bits = max(9, top.bit_length())
        if bits < 16:
            hi = float(2**bits - 1)
            images = ((images + 1) * (FULL16 / hi) - 1).clamp_(-1, 1)
            config.value_range = [0.0, hi]
            config.extra = {**config.extra, "bits_stored": bits}
            notes[:] = [n for n in notes if not n.startswith("16-bit data uses values up to")]
            notes.append(
                f"16-bit data with values up to {top}: trained on its {bits}-bit range [0, {int(hi)}]; "
                "samples are written as 16-bit files in that range"
            )
    if not channels_asked and config.channels in (3, 4) and len(images):
        rgb = images[:, :3]
        if torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2]):
            images = images[:, :1].contiguous()
            config.channels = 1
            notes.append("gray images stored as RGB: trained with 1 channel (pass --channels 3 to keep 3)")
    return images


def medmnist_card(source: str, class_names: list[str]) -> dict:
    """The card's ``classes`` and ``dataset`` for a known MedMNIST file name (e.g. ``breastmnist_224.npz``)."""
    stem = Path(source).name.lower().split(".")[0].split("_")[0]
    if stem not in MEDMNIST:
        return {}
    name, meanings = MEDMNIST[stem]
    if set(class_names) - set(meanings):
        return {}
    return {
        "classes": {c: meanings[c] for c in class_names},
        "dataset": {"name": name, "url": MEDMNIST_URL, "license": "CC BY 4.0", "citation": MEDMNIST_CITATION},
    }
