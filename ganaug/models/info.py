"""InfoGAN latent codes (Chen et al. 2016): their description, how they are drawn, and how they enter the generator.

``--info-codes cat:10,cont:2`` adds a categorical code with 10 values and 2 continuous codes, uniform in [-1, 1].
Codes are named in order of kind: categorical ``c0, c1, ...`` and continuous ``u0, u1, ...``. A generator with
codes takes ``z' = cat(z, codes)`` where the codes are encoded as one-hot blocks (categorical) and plain values
(continuous), so ``net(z', y)`` keeps the two-argument form of every architecture and ``net.code_dim`` is the
extra width. Without codes nothing changes: the same network, the same random stream.

Codes are drawn from the same ``torch.Generator`` as the noise, after it: ``z`` first, then each code in order
(categorical: ``randint(K)``, continuous: ``2 * rand - 1``). Values given explicitly replace the drawn ones after
the draw, so a fixed seed keeps ``z`` and the other codes when one code is changed (a traversal shows that code's
effect alone).

Example:
    >>> specs = parse_codes("cat:3,cont:1")
    >>> [s.name for s in specs], code_dim(specs)
    (['c0', 'u0'], 4)
    >>> draw_codes(2, specs, torch.Generator().manual_seed(0), {"c0": 2, "u0": 0.5}).tolist()
    [[0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 1.0, 0.5]]
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import GanaugError

KINDS = {"cat": "categorical", "cont": "continuous"}
CONT_RANGE = (-1.0, 1.0)
SWEEP_STEPS = 9  # columns of a traversal grid, and the values codes="sweep" draws from
MAX_CATEGORIES = 1000
MAX_CODES = 64
SPEC_HELP = "give comma-separated cat:K (a categorical code with K >= 2 values) and cont:N (N continuous codes)"


@dataclass(frozen=True)
class CodeSpec:
    """One latent code: ``kind`` categorical (``size`` values 0..size-1) or continuous (one value in ``[low, high]``).

    Example:
        >>> CodeSpec("u0", "continuous").describe()
        {'name': 'u0', 'kind': 'continuous', 'range': [-1.0, 1.0]}
    """

    name: str
    kind: str
    size: int = 1
    low: float = CONT_RANGE[0]
    high: float = CONT_RANGE[1]

    @property
    def width(self) -> int:
        """Columns it takes in the generator's input (one-hot for categorical)."""
        return self.size if self.kind == "categorical" else 1

    def describe(self) -> dict:
        if self.kind == "categorical":
            return {"name": self.name, "kind": self.kind, "values": self.size}
        return {"name": self.name, "kind": self.kind, "range": [self.low, self.high]}

    def accepted(self) -> str:
        if self.kind == "categorical":
            return f"an integer from 0 to {self.size - 1}"
        return f"a number from {self.low:g} to {self.high:g}"

    def sweep_values(self, steps: int = SWEEP_STEPS) -> list[float]:
        """The values a traversal shows: every value of a categorical code, ``steps`` even steps over a range."""
        if self.kind == "categorical":
            return [float(v) for v in range(self.size)]
        return torch.linspace(self.low, self.high, steps).tolist()


def parse_codes(text: str) -> list[CodeSpec]:
    """``"cat:10,cont:2"`` -> code specs (``c0`` with 10 values, ``u0``, ``u1``); ``""`` -> no codes."""
    text = (text or "").strip()
    if not text:
        return []
    cats: list[int] = []
    conts = 0
    for part in text.split(","):
        kind, _, number = part.strip().partition(":")
        try:
            n = int(number)
        except ValueError:
            n = -1
        if kind not in KINDS or n < 1 or (kind == "cat" and not 2 <= n <= MAX_CATEGORIES):
            bad = f"--info-codes {text!r}: {part.strip()!r} is not accepted"
            raise GanaugError(f"{bad}; {SPEC_HELP}, e.g. cat:10,cont:2")
        if kind == "cat":
            cats.append(n)
        else:
            conts += n
    if len(cats) + conts > MAX_CODES:
        raise GanaugError(f"--info-codes {text!r} asks for {len(cats) + conts} codes; at most {MAX_CODES} are accepted")
    specs = [CodeSpec(f"c{i}", "categorical", k) for i, k in enumerate(cats)]
    return specs + [CodeSpec(f"u{i}", "continuous") for i in range(conts)]


def format_codes(specs: list[CodeSpec]) -> str:
    """The canonical ``--info-codes`` text of ``specs`` (what ``arch_args["info_codes"]`` holds)."""
    parts = [f"cat:{s.size}" for s in specs if s.kind == "categorical"]
    conts = sum(1 for s in specs if s.kind == "continuous")
    return ",".join(parts + ([f"cont:{conts}"] if conts else []))


def code_dim(specs: list[CodeSpec]) -> int:
    return sum(s.width for s in specs)


def codes_of(net: torch.nn.Module) -> list[CodeSpec]:
    """The codes a generator network takes (none for a network without ``info_codes`` in its ``arch_args``)."""
    return parse_codes(getattr(net, "arch_args", {}).get("info_codes", ""))


def check_values(specs: list[CodeSpec], values: dict | None) -> dict[str, float]:
    """Explicit code values as ``{name: float}``; an unknown name or a value out of range is a clear error."""
    if not values:
        return {}
    if not specs:
        raise GanaugError(
            f"codes {sorted(values)} were given, but this model has no latent codes (train with --info-codes)"
        )
    by_name = {s.name: s for s in specs}
    names = ", ".join(f"{s.name} ({s.accepted()})" for s in specs)
    out = {}
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            raise GanaugError(f"unknown code {name!r}; this model's codes: {names}")
        shown = value if isinstance(value, str) else repr(value)  # as the user wrote it
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # text from the command line; a non-number is reported below
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if ok and spec.kind == "categorical":
            ok = float(value).is_integer() and 0 <= value < spec.size
        elif ok:
            ok = spec.low <= value <= spec.high
        if not ok:
            raise GanaugError(f"code {name}={shown} is out of range; it takes {spec.accepted()}")
        out[name] = float(value)
    return out


def describe_values(codes: dict | str | None) -> str:
    """Checked ``codes`` as a line records them (a manifest): ``"c0=3 u0=0.5"``, ``"sweep"``, or ``""`` for none.

    Example:
        >>> describe_values({"c0": 3.0, "u0": 0.123456789}), describe_values("sweep"), describe_values(None)
        ('c0=3 u0=0.123456789', 'sweep', '')
    """
    if isinstance(codes, dict):  # whole numbers without ".0", others in full (they reproduce the samples)
        shown = {name: int(v) if float(v).is_integer() else float(v) for name, v in codes.items()}
        return " ".join(f"{name}={value!r}" for name, value in shown.items())
    return codes or ""


def draw_codes(
    n: int, specs: list[CodeSpec], generator: torch.Generator, values: dict | None = None, sweep: bool = False
) -> Tensor:
    """``n`` encoded code vectors (``n x code_dim``): drawn from ``generator``, then ``values`` put in place.

    With ``sweep`` each continuous code takes one of the :data:`SWEEP_STEPS` evenly spaced values of a traversal
    (the same draw, rounded down to a step), so samples come from the settings the traversal grid shows.
    """
    fixed = check_values(specs, values)
    cols = []
    for spec in specs:
        if spec.kind == "categorical":
            idx = torch.randint(spec.size, (n,), generator=generator)
            if spec.name in fixed:
                idx.fill_(int(fixed[spec.name]))
            cols.append(torch.nn.functional.one_hot(idx, spec.size).float())
        else:
            u = torch.rand(n, generator=generator)
            if sweep:
                u = torch.clamp(torch.floor(u * SWEEP_STEPS), max=SWEEP_STEPS - 1) / (SWEEP_STEPS - 1)
            v = spec.low + (spec.high - spec.low) * u
            if spec.name in fixed:
                v.fill_(fixed[spec.name])
            cols.append(v[:, None])
    return torch.cat(cols, dim=1) if cols else torch.zeros(n, 0)


def latent(
    n: int, latent_dim: int, specs: list[CodeSpec], generator: torch.Generator, values: dict | None = None
) -> Tensor:
    """The generator's whole input: normal noise ``z`` (drawn first, as without codes), then the codes."""
    z = torch.randn(n, latent_dim, generator=generator)
    return torch.cat([z, draw_codes(n, specs, generator, values)], dim=1) if specs else z


def set_code(encoded: Tensor, specs: list[CodeSpec], name: str, value: float) -> Tensor:
    """Write code ``name`` = ``value`` into every row of ``encoded`` (``n x code_dim``, in place) and return it."""
    start = 0
    for spec in specs:
        if spec.name == name:
            block = encoded[:, start : start + spec.width]
            if spec.kind == "categorical":
                block.zero_()
                block[:, int(value)] = 1.0
            else:
                block.fill_(float(value))
            return encoded
        start += spec.width
    raise GanaugError(f"unknown code {name!r}; codes: {', '.join(s.name for s in specs)}")


def split_targets(codes: Tensor, specs: list[CodeSpec]) -> list[tuple[CodeSpec, Tensor]]:
    """The encoded codes back as targets: class indices for categorical codes, values for continuous ones."""
    out, start = [], 0
    for spec in specs:
        block = codes[:, start : start + spec.width]
        out.append((spec, block.argmax(dim=1) if spec.kind == "categorical" else block[:, 0]))
        start += spec.width
    return out
