"""DataConfig (what the data is) and FitConfig (how to train): every field has a default and a help text.

Both round-trip through JSON, are saved with every run and export, and drive the CLI's options, so a
field added here is an option of ``ganaug fit`` with its help and default shown.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import GanaugError
from .modalities import MODALITIES


def opt(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field with the help text (and choices) the CLI shows."""
    meta = {"help": help, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    """What the generator's samples are: their size, channels, value range and classes.

    Example:
        >>> DataConfig(height=28, width=28, channels=1, class_names=["benign", "malignant"]).num_classes
        2
    """

    modality: str = opt("image", "kind of sample", tuple(MODALITIES))
    format: str = opt("folder", "what the data was read from", ("folder", "npz", "hf"))
    source: str = opt("", "where the data was read from")
    height: int = opt(0, "sample height in pixels")
    width: int = opt(0, "sample width in pixels")
    channels: int = opt(0, "channels: 1 gray, 3 RGB, 4 RGBA")
    dtype: str = opt("uint8", "data-space dtype of a sample", ("uint8", "uint16", "float32"))
    value_range: list = opt([0.0, 255.0], "data-space values that map to -1 and 1 in model space")
    file_format: str = opt("png", "file format samples are written in", ("png", "npy", "tiff"))
    class_names: list = opt([], "class names, index order")
    class_counts: list = opt([], "training samples per class")
    extra: dict = opt({}, "modality-specific settings (e.g. spectrogram parameters)")

    @property
    def num_classes(self) -> int:
        return max(1, len(self.class_names))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        return _from_dict(cls, d, "data config")


@dataclass
class FitConfig:
    """Every training option of ``ganaug fit``; ``"auto"`` and 0 values are resolved from the arch and the data.

    Example:
        >>> FitConfig(arch="dcgan", steps=100).steps
        100
    """

    preset: str = opt("natural", "named set of defaults for a kind of data (see `ganaug info`)")
    task: str = opt("cgan", "what to train: cgan (DATA) or cyclegan (DATA_A DATA_B)", ("cgan", "cyclegan"))
    arch: str = opt("biggan", "network architecture (see `ganaug info`)")
    loss: str = opt("auto", "GAN loss; auto = the architecture's own (see `ganaug info`)")
    resolution: str = opt("auto", "training size: N or HxW; auto = the data's size (halved until <= 128)")
    channels: int = opt(0, "image channels; 0 = the data's")
    latent_dim: int = opt(128, "size of the generator's noise vector")
    ch: int = opt(0, "base channel width of the networks; 0 = the architecture's default")
    upsample: str = opt("deconv", "dcgan upsampling layer", ("deconv", "pixelshuffle"))
    progan_stage_images: int = opt(
        0,
        "progan: real images (steps x batch size) over which each new resolution fades in, and as many again that it "
        "then trains at before the next; 0 = the run's images split evenly over the stages",
    )
    progan_drift: float = opt(
        -1.0,
        "progan: weight (epsilon) of the drift penalty epsilon * mean(D(real)^2) in D's loss, which keeps a "
        "Wasserstein critic's outputs near 0; -1 = 0.001 with wgan-gp (as in the paper), else 0; 0 = off",
    )
    steps: int = opt(5000, "training steps (generator updates)")
    max_time: str = opt(
        "auto",
        "train for this long (90s, 10m, 1h30m): steps are planned from the measured step time; with --steps, "
        "whichever ends first; none = no budget; auto = on a CPU when --steps is not given, 10 minutes for images of "
        "up to 32x32 pixels and as much longer as they have more pixels, else none",
    )
    batch_size: int = opt(64, "images per step, over all processes")
    optimizer: str = opt("adam", "optimizer for both networks", ("adam", "rmsprop", "sgd"))
    lr_g: float = opt(2e-4, "generator learning rate")
    lr_d: float = opt(2e-4, "discriminator learning rate")
    beta1: float = opt(-1.0, "Adam beta1 (momentum for SGD/RMSProp); -1 = the architecture's default")
    beta2: float = opt(0.999, "Adam beta2")
    lr_decay: str = opt("none", "learning-rate schedule over the run", ("none", "linear", "cosine"))
    grad_clip: float = opt(0.0, "clip gradient norm of both networks to this; 0 = off")
    d_steps: int = opt(0, "discriminator updates per generator update; 0 = the loss's default")
    r1_gamma: float = opt(0.0, "R1 penalty weight on real images; 0 = off")
    class_loss: str = opt(
        "none",
        "class fidelity: adc = an auxiliary classifier on D's features that tells real class y from generated class y; "
        "d2dce = ReACGAN's data-to-data cross-entropy on an embedding of D's features (neither is the default: with "
        "the CAS-chosen export, neither raised the downstream gain)",
        ("none", "adc", "d2dce"),
    )
    class_loss_weight: float = opt(1.0, "weight of --class-loss in both networks' losses")
    cond_ramp: str = opt(
        "",
        "gradual conditioning: 'START,END' fractions of the steps; the class input of G and D fades in linearly "
        "from none at START to full at END (unconditional before), against collapse on small data; empty = off",
    )
    init_from: str = opt(
        "",
        "a run folder of an earlier fit (same --arch, size, channels and --ch) whose newest checkpoint the networks "
        "start from, e.g. a fit on a larger related dataset: transfer to a small one; class embeddings are copied "
        "only when the class names are the same; empty = fresh weights",
    )
    info_codes: str = opt(
        "",
        "InfoGAN latent codes added to the generator's input, e.g. cat:10,cont:2 (a categorical code with 10 values "
        "named c0, and continuous codes u0 and u1 uniform in [-1, 1]); a Q head on D's features learns to read them "
        "back, so each code comes to steer one factor of the samples (ganaug sample --code u0=0.5); empty = off",
    )
    info_weight: float = opt(1.0, "weight (lambda) of the InfoGAN mutual-information loss in both networks' losses")
    gp_weight: float = opt(10.0, "gradient-penalty weight for wgan-gp")
    clip_value: float = opt(0.01, "weight clip for wgan-clip")
    augment: str = opt("auto", "differentiable augmentation policy: comma list or none; auto = the preset's")
    augment_p: float = opt(-1.0, "fixed augmentation probability; -1 = adaptive (raised when D overfits)")
    ada_target: float = opt(0.6, "adaptive augmentation: target of E[sign(D(real))]")
    ada_kimg: float = opt(100.0, "adaptive augmentation: thousands of images for p to move by 1")
    ema_decay: float = opt(0.999, "decay of the exported EMA generator")
    balanced: bool = opt(True, "draw real batches class-balanced")
    seed: int = opt(0, "random seed; a run is reproducible from it")
    device: str = opt("auto", "where to train", ("auto", "cpu", "cuda"))
    precision: str = opt(
        "auto",
        "compute precision; auto = bf16/fp16 on CUDA, bf16 on CPUs with native bf16 (AVX512-BF16, AMX), else fp32",
        ("auto", "fp32", "bf16", "fp16"),
    )
    channels_last: bool = opt(True, "channels-last memory format (faster convolutions on CUDA and CPU)")
    compile: bool = opt(False, "torch.compile the networks")
    sample_every: int = opt(500, "write a sample grid every N steps")
    checkpoint_every: int = opt(1000, "write a checkpoint every N steps")
    teacher_epochs: int = opt(
        30, "epochs of the teacher classifier exported beside the generator (filters, soft labels); 0 = no teacher"
    )
    eval_every: int = opt(
        -1,
        "measure FID and CAS every N steps, log them and export the best EMA weights by --eval-metric; 0 = off; "
        "-1 = auto: a tenth of --steps for runs of 1000 steps or more, else off",
    )
    eval_split: str = opt(
        "",
        "for .npz and Hugging Face DATA: measure --eval-every against this split (e.g. val) instead of the training "
        "data, so that the kept weights are chosen on data the generator never saw; auto = the data's val split when "
        "it has one, else the training data; '' = the training data",
    )
    eval_metric: str = opt(
        "auto",
        "what --eval-every keeps the best weights by: fid (lowest) or cas (highest balanced accuracy on the real "
        "training data of a classifier trained on samples only: class fidelity); auto = cas with 2 or more classes, "
        "else fid",
        ("auto", "fid", "cas"),
    )
    log_every: int = opt(10, "append losses to log.jsonl every N steps")
    keep_checkpoints: int = opt(2, "checkpoints kept on disk")
    skip_bad: bool = opt(False, "skip unreadable files (counted and reported) instead of stopping")
    split: str = opt("train", "split to train on for .npz and Hugging Face data")
    train_fraction: float = opt(1.0, "train on a stratified fraction of DATA (the 'small' regime); 1 = all of it")
    minority_fraction: float = opt(
        1.0, "keep this fraction of every class but the largest (the 'imbalanced' regime); 1 = all of it"
    )
    holdout: float = opt(
        0.0,
        "keep this stratified fraction of the training samples (after the regime's subset) out of the GAN's training, "
        "so that ganaug evaluate chooses its recipe on samples the generator never saw: for DATA without a val split; "
        "0 = train on every sample",
    )
    labels: str = opt("", "CSV file of path,label rows labelling the files of a flat DATA folder")
    label_pattern: str = opt("", "regex; its first group in each file name is the label (a flat DATA folder)")
    class_meanings: str = opt("", "class meanings for the model card: a JSON file {class: meaning} or 'a=...;b=...'")
    window: str = opt("", "DICOM/NIfTI intensity window 'center,width'; empty = the DICOM window tags, else raw values")
    sample_rate: int = opt(0, "audio: resample clips to this rate in Hz; 0 = the data's most common rate")
    duration: float = opt(0.0, "audio: pad or crop clips to this many seconds; 0 = the preset's")
    n_fft: int = opt(0, "audio: FFT size of the spectrogram; 0 = about 64 ms at the sample rate")
    hop_length: int = opt(0, "audio: samples between spectrogram frames; 0 = n_fft / 4, or as --frames asks")
    frames: int = opt(0, "audio: spectrogram frames (its width), by setting the hop to the clip's samples / frames")
    n_mels: int = opt(0, "audio: mel bands, the spectrogram's height; 0 = the preset's")
    f_min: float = opt(0.0, "audio: lowest mel frequency in Hz")
    f_max: float = opt(0.0, "audio: highest mel frequency in Hz; 0 = sample_rate / 2")
    cyclegan_lambda: float = opt(10.0, "cyclegan: weight of the cycle-consistency loss (lambda)")
    cyclegan_identity: float = opt(0.5, "cyclegan: identity-loss weight as a fraction of lambda; 0 = off")
    cyclegan_pool: int = opt(50, "cyclegan: history pool of generated images shown to D; 0 = off")
    cyclegan_decay_from: float = opt(0.5, "cyclegan: fraction of steps at constant LR before linear decay to 0")
    cyclegan_blocks: int = opt(0, "cyclegan: resnet generator blocks; 0 = 9 from 256 pixels up, else 6")
    cyclegan_d_layers: int = opt(0, "cyclegan: PatchGAN depth (3 = 70x70 patches); 0 = 3, fewer under 64 pixels")
    cyclegan_jitter: str = opt(
        "auto",
        "cyclegan: random resize-crop and flip of images; auto = off for medical/spectrogram",
        ("auto", "on", "off"),
    )
    cyclegan_guard_steps: int = opt(300, "cyclegan: steps to train the content-guard classifier on labelled domains")
    out: str = opt("runs", "folder that holds run folders")
    name: str = opt("", "run folder name; empty = data name + time")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FitConfig:
        return _from_dict(cls, d, "fit config")

    def replace(self, **changes: Any) -> FitConfig:
        return _from_dict(type(self), {**self.to_dict(), **changes}, "fit config")


def _from_dict(cls: type, d: dict, what: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise GanaugError(f"unknown {what} field(s) {unknown}; known: {', '.join(sorted(names))}")
    d = dict(d)
    for f in dataclasses.fields(cls):
        value = d.get(f.name)
        if isinstance(value, os.PathLike) and isinstance(f.default, str):
            d[f.name] = os.fspath(value)
        elif isinstance(f.default, float) and isinstance(value, int) and not isinstance(value, bool):
            d[f.name] = float(value)
        elif f.name == "resolution" and isinstance(value, int):
            d[f.name] = str(value)
    obj = cls(**d)
    for f in dataclasses.fields(cls):
        choices = f.metadata.get("choices")
        if choices and getattr(obj, f.name) not in choices:
            raise GanaugError(f"{f.name}={getattr(obj, f.name)!r} is not accepted; choose one of {', '.join(choices)}")
    return obj


def parse_resolution(value: str | int | None, data_hw: tuple[int, int]) -> tuple[int, int]:
    """``"auto"`` -> the data's size halved until it fits 128; ``"32"`` -> (32, 32); ``"64x48"`` -> (64, 48)."""
    if value in (None, "", "auto", 0, "0"):
        h, w = data_hw
        while max(h, w) > 128 and h % 2 == 0 and w % 2 == 0:
            h, w = h // 2, w // 2
        return h, w
    text = str(value).lower().strip()
    try:
        parts = [int(p) for p in text.split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 4 or max(parts) > 1024:
        raise GanaugError(f"resolution {value!r} is not accepted; give N or HxW with sides from 4 to 1024, or auto")
    return parts[0], parts[1]
