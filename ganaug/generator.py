"""A loaded generator: the network, its data description, and sampling in model or data space."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import DataConfig
from .errors import GanaugError
from .fileio import load_tensors, read_json

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class Generator:
    """A ganaug generator rebuilt from ``config.json`` + ``model.safetensors`` (no code from the files).

    Example:
        >>> g = ganaug.load_generator("runs/digits/export")  # doctest: +SKIP
        >>> # 8 samples of class "3": 8 x C x H x W in [-1, 1]
        >>> images = g.sample("3", n=8, seed=0)  # doctest: +SKIP
    """

    def __init__(self, net: nn.Module, config: dict, source: str = ""):
        self.net = net.eval().requires_grad_(False)
        self.config = config
        self.source = source
        self.folder: Path | None = None  # the export folder it was loaded from (None when built in memory)
        self.data = DataConfig.from_dict(config["data"])

    @classmethod
    def from_folder(cls, folder: str | Path, source: str | None = None) -> Generator:
        """Rebuild from an export folder; weights that do not match ``config.json`` are a clear error."""
        from .builders import build_generator

        folder = Path(folder)
        cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for p in (cfg_path, w_path):
            if not p.is_file():
                raise GanaugError(
                    f"{folder} is not a ganaug export: {p.name} is missing (need config.json + model.safetensors)"
                )
        try:
            config = read_json(cfg_path)
            arch, arch_args = config["arch"], config["arch_args"]
            data = DataConfig.from_dict(config["data"])
        except (ValueError, KeyError, TypeError) as exc:
            raise GanaugError(f"{cfg_path} is not a valid ganaug config ({exc!r})") from exc
        _check_class_names(data.class_names, arch_args, cfg_path)
        if config.get("recipe") is not None:
            from .recipe import Recipe

            try:
                Recipe.from_dict(config["recipe"])
            except (GanaugError, TypeError) as exc:
                raise GanaugError(f"{cfg_path} holds a recipe that cannot be used: {exc}") from exc
        if config.get("task", "cgan") != "cgan":
            hint = "; use it with `ganaug translate MODEL INPUT --out DIR` or ganaug.GANTranslate"
            raise GanaugError(
                f"{source or folder} holds a {config.get('task')!r} model, not a class-conditional generator, so it "
                "cannot sample classes" + (hint if config.get("task") == "cyclegan" else "")
            )
        state = load_tensors(w_path, (config.get("sha256") or {}).get(WEIGHTS_NAME), cfg_path)
        check_weights_fit(lambda: build_generator(arch, arch_args), state, w_path, cfg_path, f"arch {arch!r}")
        net = build_generator(arch, arch_args)
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[:4]
            raise GanaugError(
                f"weights in {w_path} do not match {cfg_path} (arch {arch!r}): {' '.join(first)}"
            ) from exc
        from .models.layers import bake_spectral_norm

        g = cls(bake_spectral_norm(net.eval()), config, source or str(folder))
        g.folder = folder
        return g

    # -- description --------------------------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        return list(self.data.class_names) or ["0"]

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    @property
    def latent_dim(self) -> int:
        return int(self.config["arch_args"]["latent_dim"])

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: str | torch.device) -> Generator:
        self.net.to(device)
        return self

    def class_index(self, c: int | str) -> int:
        """A class given by index or name; a name that is all digits but not a class name counts as an index."""
        names = self.class_names
        if isinstance(c, str):
            if c in names:
                return names.index(c)
            if not c.lstrip("-").isdigit():
                raise GanaugError(f"class {c!r} is not one of this generator's classes: {', '.join(names)}")
            c = int(c)
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < self.num_classes:
            return int(c)
        raise GanaugError(
            f"class {c!r} is out of range: this generator has {self.num_classes} classes ({', '.join(names)})"
        )

    # -- sampling -----------------------------------------------------------------------------------------
    def noise(
        self, n: int, generator: torch.Generator, truncation: float | None = None, spread: float = 1.0
    ) -> torch.Tensor:
        """Normal noise with standard deviation ``spread`` (above 1: more varied samples); with ``truncation`` t,
        values beyond +-t are redrawn (the truncation trick)."""
        if not spread > 0:
            raise GanaugError(f"spread must be > 0, got {spread}")
        z = torch.randn(n, self.latent_dim, generator=generator) * spread
        if truncation is not None:
            if truncation <= 0:
                raise GanaugError(f"truncation must be > 0, got {truncation}")
            for _ in range(100):
                bad = z.abs() > truncation
                if not bad.any():
                    break
                z[bad] = torch.randn(int(bad.sum()), generator=generator) * spread
            z.clamp_(-truncation, truncation)
        return z

    @torch.no_grad()
    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The network on noise ``z`` and class indices ``y``: model-space samples, float32 on the CPU. For 8-bit data
        on a CPU with native bf16 it computes in bf16 (2.5x faster; the output is quantised to 8 bits anyway)."""
        from .training.engine import cpu_has_bf16

        dev = self.device
        fast = dev.type == "cpu" and self.data.dtype == "uint8" and cpu_has_bf16()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
            return self.net(z.to(dev), y.to(dev)).float().cpu()

    @torch.no_grad()
    def generate(
        self,
        labels,
        seed: int | None = 0,
        truncation: float | None = None,
        batch_size: int = 256,
        spread: float = 1.0,
    ) -> torch.Tensor:
        """Samples for the given class labels (indices or names), N x C x H x W in [-1, 1] on the CPU."""
        idx = torch.tensor([self.class_index(c) for c in labels], dtype=torch.long)
        gen = torch.Generator()
        gen.manual_seed(int(seed) if seed is not None else int(torch.seed()))
        out = []
        for start in range(0, len(idx), batch_size):
            y = idx[start : start + batch_size]
            out.append(self.forward(self.noise(len(y), gen, truncation, spread), y))
        if not out:
            return torch.empty(0, self.data.channels, self.data.height, self.data.width)
        return torch.cat(out)

    def sample(self, c: int | str, n: int, seed: int | None = 0, truncation: float | None = None) -> torch.Tensor:
        """``n`` samples of class ``c`` in model space."""
        if n < 0:
            raise GanaugError(f"n must be >= 0, got {n}")
        return self.generate([self.class_index(c)] * n, seed=seed, truncation=truncation)

    def to_data(self, x: torch.Tensor) -> np.ndarray:
        """Model space -> data space (N x H x W x C of the data's dtype and value range)."""
        from .data.convert import to_data

        return to_data(x, self.data)

    def __repr__(self) -> str:
        d = self.data
        return (
            f"Generator(arch={self.config['arch']!r}, classes={self.class_names}, "
            f"size={d.height}x{d.width}x{d.channels}, dtype={d.dtype}, source={self.source!r})"
        )


def check_weights_fit(build, state: dict, w_path: Path, cfg_path: Path, what: str) -> None:
    """Before the network is allocated: the network ``build()`` would make (built on the meta device, which allocates
    nothing) must have exactly the tensors and shapes of the weights ``state`` read from ``w_path``, so a config that
    asks for a huge network, or names an argument the architecture does not take, is a clear error instead of
    gigabytes or a traceback."""
    try:
        with torch.device("meta"):
            wanted = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise GanaugError(f"{cfg_path} describes a network that cannot be built ({what}): {exc}") from exc
    found = {k: tuple(v.shape) for k, v in state.items()}
    if wanted != found:
        size = sum(math.prod(shape) for shape in wanted.values())
        diff = sorted(set(wanted) ^ set(found)) or sorted(k for k in wanted if wanted[k] != found[k])
        detail = ", ".join(f"{k}: config {wanted.get(k)} vs file {found.get(k)}" for k in diff[:3])
        raise GanaugError(
            f"weights in {w_path} do not match {cfg_path} ({what}, {size:,} parameters as configured): {detail}"
        )


def _check_class_names(names: list, arch_args: dict, cfg_path: Path) -> None:
    """Class names from a config (a model from outside): strings, distinct, one per class of the network."""
    if not all(isinstance(n, str) for n in names):
        raise GanaugError(f"{cfg_path}: data.class_names must be strings, got {names!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise GanaugError(f"{cfg_path}: data.class_names repeats {', '.join(map(repr, repeated))}; names must differ")
    k = arch_args.get("num_classes") if isinstance(arch_args, dict) else None
    if names and k is not None and len(names) != k:
        raise GanaugError(f"{cfg_path} names {len(names)} classes but its network has {k} (arch_args.num_classes)")
