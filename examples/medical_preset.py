"""--preset medical end to end: a 12-bit DICOM class folder -> fit -> 16-bit PNG samples and a card that says
"not for diagnosis" and what each class means.

    python examples/medical_preset.py [--data DATA] [--work DIR] [--steps N] [--ch N] [--window C,W] [--arch dcgan]
                                      [--scans N]

Without --data it writes a small class folder of synthetic 12-bit CT-like DICOM slices with pydicom's dataset API
(class "lesion" holds a bright disc; 16-bit PNGs if pydicom is missing). Any medical DATA works instead, e.g.
../shared/data/medmnist_breastmnist/breastmnist.npz or a folder of DICOM / NIfTI / 16-bit PNG files per class.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import ganaug
from ganaug.data import write_sample
from ganaug.data.images import encode_png16


def write_scans(root: Path, per_class: int = 12, size: int = 32) -> Path:
    """``root/<normal|lesion>/<n>.dcm``: noisy 12-bit slices (stored values 0..4095, rescale intercept -1024)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    try:
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
    except ImportError:
        Dataset = None
    for name in ("normal", "lesion"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            body = 1024 + 40 * rng.standard_normal((size, size))  # soft tissue around 0 HU
            if name == "lesion":
                cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
                body[(yy - cy) ** 2 + (xx - cx) ** 2 < (size * rng.uniform(0.1, 0.2)) ** 2] += 300
            pixels = np.clip(body, 0, 4095).astype(np.uint16)
            if Dataset is None:
                (root / name / f"{i:03d}.png").write_bytes(encode_png16(pixels[:, :, None]))
                continue
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, meta.MediaStorageSOPInstanceUID, "CT"
            ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = size, size, 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
            ds.PixelData = pixels.tobytes()
            ds.save_as(root / name / f"{i:03d}.dcm", enforce_file_format=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="medical DATA; default: write synthetic DICOM slices here")
    parser.add_argument("--work", default=None, help="folder for the data and the run [default: a temp folder]")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--ch", type=int, default=16, help="network width (small for a quick CPU run)")
    parser.add_argument("--window", default="", help="DICOM window center,width; empty = the files' tags or raw")
    parser.add_argument("--arch", default="dcgan", help="network architecture (see `ganaug info`)")
    parser.add_argument("--scans", type=int, default=12, help="synthetic slices per class without --data")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="ganaug-medical-"))
    if not args.work:
        print(f"working folder: {work} (the data, the run and its outputs; delete it when done, or pass --work DIR)")
    data = args.data or write_scans(work / "scans", per_class=args.scans)
    meanings = "normal=no finding;lesion=hyperdense round lesion" if not args.data else ""

    # 1. What the preset does, without training: 16-bit aware reading, translation + cutout augmentation only.
    resolved = ganaug.fit(data, preset="medical", window=args.window, class_meanings=meanings, dry_run=True)
    d = resolved["data"]
    print(f"preset medical: augment={resolved['fit']['augment']}, data {d['height']}x{d['width']}x{d['channels']}")
    print(f"  {d['dtype']} values {d['value_range']}, classes {d['class_names']}")

    # 2. Train (dcgan keeps the example quick on a CPU); the export holds the EMA generator and its card.
    run = ganaug.fit(
        data,
        preset="medical",
        window=args.window,
        class_meanings=meanings,
        arch=args.arch,
        ch=args.ch,
        steps=args.steps,
        batch_size=16,
        sample_every=max(1, args.steps),
        out=work / "runs",
        name="medical",
        progress=False,
    )
    print(f"run: {run.path}\nsample grid: {run.export / 'samples.png'}")

    # 3. Samples written back in the input's bit depth (the same as `ganaug sample RUN --class C --out DIR`).
    g = run.load_generator()
    out = work / "samples"
    for c in g.class_names:
        arrays = g.to_data(g.sample(c, n=4, seed=0))
        paths = [write_sample(out / f"{c}_{i}", a, g.data) for i, a in enumerate(arrays)]
        print(
            f"class {c}: {len(paths)} files like {paths[0].name}, {arrays.dtype}, values {arrays.min()}..{arrays.max()}"
        )

    # 4. The model card: classes with their meanings, and the not-for-diagnosis note.
    card = (run.export / "README.md").read_text()
    print("card:", next(line for line in card.splitlines() if "Not for diagnosis" in line).strip())
    print("\n".join(line for line in card.splitlines() if line.startswith("| ") and "`" in line))


if __name__ == "__main__":
    main()
