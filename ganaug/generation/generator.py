"""A loaded generator: the network, its data description, and sampling in model or data space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import DataConfig
from ..errors import GanaugError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class Generator:
    """A ganaug generator rebuilt from ``config.json`` + ``model.safetensors`` (no code from the files).

    Example:
        >>> g = ganaug.load_generator("runs/digits/export")  # doctest: +SKIP
        >>> # 8 samples of class "3": 8 x C x H x W in [-1, 1]
        >>> images = g.sample("3", n=8, seed=0)  # doctest: +SKIP
        >>> # a model trained with --info-codes: fix some codes, the others are drawn at random
        >>> thick = g.sample("3", n=8, seed=0, codes={"c0": 3, "u0": 0.8})  # doctest: +SKIP
    """

    def __init__(self, net: nn.Module, config: dict, source: str = ""):
        self.net = net.eval().requires_grad_(False)
        self.config = config
        self.source = source
        self.folder: Path | None = None  # the export folder it was loaded from (None when built in memory)
        self.data = DataConfig.from_dict(config["data"])
        self._codes: list | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, source: str | None = None) -> Generator:
        """Rebuild from an export folder; weights that do not match ``config.json`` are a clear error."""
        from ..builders import build_generator
        from ..exported import load_exported
        from ..models.layers import bake_spectral_norm

        folder = Path(folder)
        config, net = load_exported(
            folder,
            CONFIG_NAME,
            WEIGHTS_NAME,
            lambda c: build_generator(c["arch"], c["arch_args"]),
            check=lambda c: _check_config(c, folder / CONFIG_NAME, source or str(folder)),
        )
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
    def codes(self) -> list:
        """The InfoGAN latent codes (``ganaug.models.info.CodeSpec``: name, kind, size, range); empty without."""
        if self._codes is None:
            from ..models.info import parse_codes

            self._codes = parse_codes(self.config["arch_args"].get("info_codes", ""))
        return self._codes

    def check_codes(self, codes: dict | str | None) -> dict | str | None:
        """``codes`` as accepted by sampling: None, ``"sweep"`` or ``{name: value}`` (values checked against the
        codes' ranges); anything else is a clear error."""
        from ..models.info import check_values

        if codes is None:
            return None
        if isinstance(codes, str):
            if codes != "sweep":
                raise GanaugError(f"codes={codes!r} is not accepted; give None, 'sweep' or a dict {{name: value}}")
            if not self.codes:
                raise GanaugError("codes='sweep' was given, but this model has no latent codes (fit --info-codes)")
            return codes
        if not isinstance(codes, dict):
            raise GanaugError(f"codes={codes!r} is not accepted; give None, 'sweep' or a dict {{name: value}}")
        return check_values(self.codes, codes)

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
        self,
        n: int,
        generator: torch.Generator,
        truncation: float | None = None,
        spread: float = 1.0,
        codes: dict | str | None = None,
    ) -> torch.Tensor:
        """Normal noise with standard deviation ``spread`` (above 1: more varied samples); with ``truncation`` t,
        values beyond +-t are redrawn (the truncation trick). A model with InfoGAN codes gets them appended, drawn
        after the noise from the same generator: at random as in training, on the traversal's evenly spaced values
        with ``codes="sweep"``, or fixed by ``codes={name: value}`` (the codes not named are drawn)."""
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
        specs = self.codes
        if not specs:
            self.check_codes(codes)  # codes for a model without any: a clear error
            return z
        from ..models.info import draw_codes

        codes = self.check_codes(codes)
        fixed = codes if isinstance(codes, dict) else None
        return torch.cat([z, draw_codes(n, specs, generator, fixed, sweep=codes == "sweep")], dim=1)

    @torch.no_grad()
    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The network on noise ``z`` and class indices ``y``: model-space samples, float32 on the CPU. For 8-bit data
        on a CPU with native bf16 it computes in bf16 (2.5x faster; the output is quantised to 8 bits anyway)."""
        from ..training.engine import cpu_has_bf16

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
        codes: dict | str | None = None,
    ) -> torch.Tensor:
        """Samples for the given class labels (indices or names), N x C x H x W in [-1, 1] on the CPU; ``codes`` as
        in :meth:`noise`."""
        codes = self.check_codes(codes)
        idx = torch.tensor([self.class_index(c) for c in labels], dtype=torch.long)
        gen = torch.Generator()
        gen.manual_seed(int(seed) if seed is not None else int(torch.seed()))
        out = []
        for start in range(0, len(idx), batch_size):
            y = idx[start : start + batch_size]
            out.append(self.forward(self.noise(len(y), gen, truncation, spread, codes), y))
        if not out:
            return torch.empty(0, self.data.channels, self.data.height, self.data.width)
        return torch.cat(out)

    def sample(
        self,
        c: int | str,
        n: int,
        seed: int | None = 0,
        truncation: float | None = None,
        codes: dict | str | None = None,
    ) -> torch.Tensor:
        """``n`` samples of class ``c`` in model space. For a model with InfoGAN codes, ``codes={"c0": 3, "u0": 0.5}``
        fixes those codes for every sample (the others are drawn at random); the same seed and codes give the same
        samples, and with the same seed only the named codes change."""
        if n < 0:
            raise GanaugError(f"n must be >= 0, got {n}")
        return self.generate([self.class_index(c)] * n, seed=seed, truncation=truncation, codes=codes)

    @torch.no_grad()
    def traversal(
        self, code: str, seed: int = 0, steps: int = 9, max_rows: int = 16
    ) -> tuple[torch.Tensor, int, list[str]]:
        """A traversal grid of one code: ``(images, columns, row labels)``. One column per value of the code
        (``steps`` even steps over a continuous code's range, every value of a categorical one); one row per class,
        or for a single-class model one row per value of the first other categorical code (else per noise draw).
        Within a row only the code changes: the noise and the other codes are the same."""
        from ..models.info import set_code

        specs = {s.name: s for s in self.codes}
        if code not in specs:
            known = ", ".join(specs) or "none (fit --info-codes)"
            raise GanaugError(f"unknown code {code!r}; this model's codes: {known}")
        values = specs[code].sweep_values(steps)
        other = next((s for s in specs.values() if s.kind == "categorical" and s.name != code), None)
        if self.num_classes > 1:
            rows = [(c, {}) for c in range(min(self.num_classes, max_rows))]
            labels = self.class_names[: len(rows)]
        elif other is not None:
            rows = [(0, {other.name: k}) for k in range(min(other.size, max_rows))]
            labels = [f"{other.name}={k}" for k in range(len(rows))]
        else:
            rows = [(0, {}) for _ in range(min(8, max_rows))]
            labels = [f"noise {i}" for i in range(len(rows))]
        base = self.noise(len(rows), torch.Generator().manual_seed(int(seed)))  # noise and codes, one set per row
        out = []
        for r, (c, fixed) in enumerate(rows):
            z = base[r : r + 1].repeat(len(values), 1)
            tail = z[:, self.latent_dim :]  # a view: the codes are written in place
            for name, v in fixed.items():
                set_code(tail, self.codes, name, v)
            for i, v in enumerate(values):
                set_code(tail[i : i + 1], self.codes, code, v)
            out.append(self.forward(z, torch.full((len(values),), c, dtype=torch.long)))
        return torch.cat(out), len(values), labels

    def to_data(self, x: torch.Tensor) -> np.ndarray:
        """Model space -> data space (N x H x W x C of the data's dtype and value range)."""
        from ..data.convert import to_data

        return to_data(x, self.data)

    def __repr__(self) -> str:
        d = self.data
        return (
            f"Generator(arch={self.config['arch']!r}, classes={self.class_names}, "
            f"size={d.height}x{d.width}x{d.channels}, dtype={d.dtype}, source={self.source!r})"
        )


def _check_config(config: dict, cfg_path: Path, source: str) -> None:
    """A class-conditional generator's ``config.json`` (a model from outside): arch, data, classes, recipe, task."""
    missing = [key for key in ("arch", "arch_args", "data") if key not in config]
    if missing:
        raise GanaugError(f"{cfg_path} is not a valid ganaug config (missing {', '.join(missing)})")
    data = DataConfig.from_dict(config["data"])
    _check_class_names(data.class_names, config["arch_args"], cfg_path)
    if config.get("recipe") is not None:
        from ..downstream.recipe import Recipe

        try:
            Recipe.from_dict(config["recipe"])
        except (GanaugError, TypeError) as exc:
            raise GanaugError(f"{cfg_path} holds a recipe that cannot be used: {exc}") from exc
    if config.get("task", "cgan") != "cgan":
        hint = "; use it with `ganaug translate MODEL INPUT --out DIR` or ganaug.GANTranslate"
        raise GanaugError(
            f"{source} holds a {config.get('task')!r} model, not a class-conditional generator, so it cannot sample "
            "classes" + (hint if config.get("task") == "cyclegan" else "")
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
