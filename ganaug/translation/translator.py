"""A loaded CycleGAN: both directions, each domain's DataConfig, the optional guard classifier, and translation of
model-space batches or of images of any supported type and size.

Example:
    >>> t = ganaug.load_translator("runs/monet-photo")  # doctest: +SKIP
    >>> # a PIL image of the same size and mode
    >>> photo_like = t.translate_image(Image.open("monet.jpg"), "a2b")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..config import DataConfig
from ..errors import GanaugError
from ..generation.generator import CONFIG_NAME, WEIGHTS_NAME

DIRECTIONS = ("a2b", "b2a")


def check_direction(direction: Any) -> str:
    if direction not in DIRECTIONS:
        raise GanaugError(f"direction {direction!r} does not exist; choose a2b (domain A to B) or b2a (B to A)")
    return direction


class Translator:
    """The two generators of a CycleGAN export, rebuilt from ``config.json`` + ``model.safetensors`` (no code runs).

    Example:
        >>> t = Translator.from_folder("runs/monet-photo/export")  # doctest: +SKIP
        >>> # any size: padded to the stride, cropped back
        >>> y = t.translate(torch.rand(2, 3, 300, 200) * 2 - 1, "b2a")  # doctest: +SKIP
    """

    def __init__(self, nets: dict[str, nn.Module], config: dict, source: str = "", guard: nn.Module | None = None):
        self.nets = {k: net.eval().requires_grad_(False) for k, net in nets.items()}
        self.guard = guard.eval().requires_grad_(False) if guard is not None else None
        self.config = config
        self.source = source
        self.data_a = DataConfig.from_dict(config["data"])
        self.data_b = DataConfig.from_dict(config["data_b"])

    @classmethod
    def from_folder(cls, folder: str | Path, source: str | None = None) -> Translator:
        """Rebuild from an export folder; a class-conditional export or mismatched weights are clear errors."""
        from ..exported import load_exported

        folder = Path(folder)
        config, nets = load_exported(folder, CONFIG_NAME, WEIGHTS_NAME, _build, check=_checker(source or str(folder)))
        keys = {prefix: key for key, prefix in _prefixes(config).items()}
        by_key = {keys[prefix]: net for prefix, net in nets.items()}
        return cls({"a2b": by_key["a2b"], "b2a": by_key["b2a"]}, config, source or str(folder), by_key.get("guard"))

    # -- description --------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.nets["a2b"].parameters()).device

    def to(self, device: str | torch.device) -> Translator:
        for net in self.nets.values():
            net.to(device)
        if self.guard is not None:
            self.guard.to(device)
        return self

    def domains(self, direction: str) -> tuple[DataConfig, DataConfig]:
        """(source, target) DataConfig of ``direction``."""
        check_direction(direction)
        return (self.data_a, self.data_b) if direction == "a2b" else (self.data_b, self.data_a)

    @property
    def stride(self) -> int:
        return int(self.nets["a2b"].stride)

    # -- model space --------------------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, x: Tensor, direction: str = "a2b", batch_size: int = 8) -> Tensor:
        """Model-space N x C x H x W (source channels, any size) -> the target domain's, float32 on the CPU."""
        src, _ = self.domains(direction)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1] != src.channels:
            raise GanaugError(
                f"{direction} takes N x {src.channels} x H x W model-space images, got shape {tuple(x.shape)}"
            )
        net, out = self.nets[direction], []
        for i in range(0, len(x), batch_size):
            out.append(net(x[i : i + batch_size].to(self.device, torch.float32)).float().cpu())
        return torch.cat(out) if out else x.new_zeros((0, self.domains(direction)[1].channels, *x.shape[-2:]))

    def classify(self, x: Tensor) -> Tensor:
        """The guard classifier's class indices for model-space images of either domain."""
        if self.guard is None:
            raise GanaugError(
                f"{self.source} has no guard classifier (no labelled domain when it was trained); pass guard=a callable"
            )
        from ..training.guard import classify

        return classify(self.guard, self.config["guard"], x)

    # -- data space ---------------------------------------------------------------------------------------
    def image_to_model(self, image: Any, domain: DataConfig, mean: Any = None, std: Any = None) -> Tensor:
        """An image (PIL, tensor, numpy; see ``ganaug.transforms.functional.SUPPORTED``) -> N x C x H x W model space
        of ``domain`` (its channels), keeping the image's size."""
        from ..transforms import functional as F

        return unit_to_model(to_unit(image, F.describe(image, mean, std)), domain)

    def translate_image(self, image: Any, direction: str = "a2b", mean: Any = None, std: Any = None) -> Any:
        """Translate one image (or an N x C x H x W tensor) into the same type, size, channels, dtype and range."""
        from ..transforms import functional as F

        spec = F.describe(image, mean, std)
        src, dst = self.domains(direction)
        y = self.translate(unit_to_model(to_unit(image, spec), src), direction)
        return F.finish(F.prepare(y, dst, spec.channels, spec.height, spec.width), spec)

    def __repr__(self) -> str:
        a, b = self.data_a, self.data_b
        return (
            f"Translator(arch={self.config['arch']!r}, A={a.height}x{a.width}x{a.channels}, "
            f"B={b.height}x{b.width}x{b.channels}, guard={self.guard is not None}, source={self.source!r})"
        )


def _checker(source: str) -> Callable[[dict], None]:
    """The check of a CycleGAN export's ``config.json``: its task, and both domains' data descriptions."""

    def check(config: dict) -> None:
        task = config.get("task", "cgan")
        if task != "cyclegan":
            raise GanaugError(
                f"{source} holds a {task!r} model (a class-conditional generator), not a CycleGAN; "
                "translation needs one trained with `ganaug fit --task cyclegan DATA_A DATA_B`. "
                "Use a class-conditional model with `ganaug sample`, GANAugment or load_generator"
            )
        for key in ("data", "data_b"):
            DataConfig.from_dict(config[key])

    return check


def _prefixes(config: dict) -> dict[str, str]:
    """Each network's tensor-name prefix in ``model.safetensors`` (exports before the guard name just the two)."""
    return config.get("weights") or {"a2b": "a2b.", "b2a": "b2a."}


def _build(config: dict) -> dict[str, nn.Module]:
    """The networks a CycleGAN export holds, by their tensor-name prefix: both directions, and the guard if any."""
    from ..models.cyclegan import GuardClassifier, build_translators

    weights = _prefixes(config)
    a2b, b2a = build_translators(config["arch"], config["arch_args"])
    nets = {weights["a2b"]: a2b, weights["b2a"]: b2a}
    guard = config.get("guard")
    if guard and "guard" in weights:
        nets[weights["guard"]] = GuardClassifier(guard["channels"], len(guard["class_names"]), guard["width"])
    return nets


def to_unit(image: Any, spec: Any) -> np.ndarray:
    """An image described by ``spec`` -> N x H x W x C float32 on the unit scale (the inverse of ``finish``)."""
    if isinstance(image, torch.Tensor):
        t = image.detach().to("cpu", torch.float32).as_subclass(torch.Tensor)
        if spec.layout == "nchw":
            values = t.permute(0, 2, 3, 1).numpy()
        elif spec.layout == "chw":
            values = t.permute(1, 2, 0)[None].numpy()
        elif spec.layout == "hwc":
            values = t[None].numpy()
        else:  # hw
            values = t[None, :, :, None].numpy()
    else:
        values = np.asarray(image, dtype=np.float32)
        values = values[None, :, :, None] if values.ndim == 2 else values[None]
    gain, offset = np.asarray(spec.gain, np.float32), np.asarray(spec.offset, np.float32)
    return np.ascontiguousarray((values - offset) / gain, dtype=np.float32)


def unit_to_model(unit: np.ndarray, domain: DataConfig) -> Tensor:
    """Unit-scale N x H x W x C -> model space of ``domain`` (its channels; its dtype's scale and value range)."""
    from ..data.convert import batch_to_model, convert_channels
    from ..transforms.functional import FULL_SCALE

    unit = convert_channels(unit, domain.channels, opaque=1.0)
    return batch_to_model(unit * np.float32(FULL_SCALE.get(domain.dtype, 1.0)), domain.value_range)


def output_spec(spec: Any, channels: int) -> Any:
    """A numpy ``spec`` with another channel count (the CLI writes files with the target domain's channels)."""
    if channels == spec.channels:
        return spec
    layout = "hwc" if channels > 1 else spec.layout
    return replace(
        spec, channels=channels, gain=(spec.gain[0],) * channels, offset=(spec.offset[0],) * channels, layout=layout
    )


def load_translator(source: str | Path | Translator, device: str = "cpu") -> Translator:
    """Load a CycleGAN from any MODEL form (run folder, export folder, ``hf-hub:OWNER/NAME[@REV]``, registry name).

    Example:
        >>> t = load_translator("hf-hub:my-org/monet2photo")  # doctest: +SKIP
    """
    if isinstance(source, Translator):
        return source.to(device)
    from ..hub.sources import resolve_model

    folder = resolve_model(source)
    return Translator.from_folder(folder, source=str(source)).to(device)
