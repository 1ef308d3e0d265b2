"""One way to record, write and read an exported network: its constructor arguments as a JSON config, its tensors as
safetensors beside it, the file's SHA-256 in the config, and strict loading on the way back.

A network records its configuration with :func:`records_arch_args` on its ``__init__``; an export writes it with
:func:`save_exported` and reads it back with :func:`load_exported` (the generator, the translator and the teacher all
go through this pair). Nothing here runs code from the files: the config names what to build, the weights are plain
tensors, and pickled files are refused by name (:data:`ganaug.fileio.PICKLE_SUFFIXES`).

Example:
    >>> config = {"arch_args": net.arch_args}  # doctest: +SKIP
    >>> save_exported("out", net.state_dict(), "net.json", config, "net.safetensors")  # doctest: +SKIP
    >>> config, net = load_exported("out", "net.json", "net.safetensors", lambda c: Net(**c["arch_args"]))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .errors import GanaugError
from .fileio import load_tensors, read_json, refuse_pickle, save_tensors, sha256_file, write_json

Init = TypeVar("Init", bound=Callable[..., None])
Nets = Any  # an nn.Module, or a {tensor-name prefix: nn.Module} mapping for several networks in one file
EXPORT_FORMS = "a JSON config beside safetensors weights (config.json + model.safetensors)"


def records_arch_args(resolve: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Callable[[Init], Init]:
    """Decorate a network's ``__init__`` so that its arguments become ``self.arch_args``, the config that rebuilds it.

    The call's arguments (defaults filled in, in the signature's order) go through ``resolve`` first, which checks
    them and settles defaults that depend on others (a width of 0 becomes the architecture's own); ``__init__`` then
    runs with the resolved values, and they are recorded. An argument left at an empty default (``""`` or None) is
    not recorded, so adding one later leaves the configs of networks written before unchanged.

    Example:
        >>> from torch import nn
        >>> class Net(nn.Module):
        ...     @records_arch_args(lambda a: {**a, "width": a["width"] or 8})
        ...     def __init__(self, channels: int, width: int = 0, codes: str = ""):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(channels, width, 3)
        >>> Net(3).arch_args
        {'channels': 3, 'width': 8}
    """

    def decorate(init: Init) -> Init:
        signature = inspect.signature(init)
        params = list(signature.parameters.values())[1:]  # without self
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            raise TypeError(f"{init.__qualname__}: records_arch_args needs named arguments, not *args or **kwargs")
        empty = {p.name for p in params if _is_empty(p.default)}

        @functools.wraps(init)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            values = {p.name: bound.arguments[p.name] for p in params}
            if resolve is not None:
                values = resolve(values)
            init(self, **values)
            self.arch_args = {k: v for k, v in values.items() if not (k in empty and _is_empty(v))}

        return wrapper  # type: ignore[return-value]

    return decorate


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def save_exported(
    folder: str | Path,
    state_dict: Mapping[str, Any],
    config_json_name: str,
    config: dict,
    weights_name: str,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``state_dict`` as ``folder/weights_name`` (safetensors, ``metadata`` in its header beside
    ``format: pt``), then ``config`` as ``folder/config_json_name`` with the weights' SHA-256 under ``"sha256"``;
    each file is written atomically. Returns ``folder``."""
    folder = Path(folder)
    for name in (config_json_name, weights_name):
        refuse_pickle(name, "Written: " + EXPORT_FORMS)
    save_tensors(folder / weights_name, dict(state_dict), metadata={"format": "pt", **(metadata or {})})
    write_json(folder / config_json_name, {**config, "sha256": {weights_name: sha256_file(folder / weights_name)}})
    return folder


def load_exported(
    folder: str | Path,
    config_json_name: str,
    weights_name: str,
    build: Callable[[dict], Nets],
    check: Callable[[dict], None] | None = None,
) -> tuple[dict, Nets]:
    """Read ``folder/config_json_name`` and the weights ``folder/weights_name`` it describes: ``(config, nets)``.

    ``check(config)`` validates the config first (its KeyError, TypeError or ValueError become an error naming the
    file). The weights must match the SHA-256 the config records, and exactly the tensors and shapes of the
    network(s) ``build(config)`` makes, which is checked on the meta device before anything is allocated: a missing,
    unknown or reshaped tensor is refused (strict loading). ``build`` returns one network, or a mapping from each
    network's tensor-name prefix in the file (``"a2b."``) to the network. Every failure is one :class:`GanaugError`
    that names the file.
    """
    folder = Path(folder)
    cfg_path, w_path = folder / config_json_name, folder / weights_name
    for path in (cfg_path, w_path):
        refuse_pickle(path, "Accepted: " + EXPORT_FORMS)
        if not path.is_file():
            raise GanaugError(
                f"{folder} is not a ganaug export: {path.name} is missing (need {config_json_name} + {weights_name})"
            )
    try:
        config = read_json(cfg_path)
    except (OSError, ValueError) as exc:
        raise GanaugError(f"{cfg_path} is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise GanaugError(f"{cfg_path} is not a valid ganaug config (a JSON object is needed)")
    if check is not None:
        try:
            check(config)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, GanaugError):
                raise
            raise GanaugError(f"{cfg_path} is not a valid ganaug config ({exc!r})") from exc
    state = load_tensors(w_path, (config.get("sha256") or {}).get(weights_name), cfg_path)
    what = f"arch {config.get('arch')!r}"
    check_weights_fit(lambda: _state_of(build(config)), state, w_path, cfg_path, what)
    nets = build(config)
    for prefix, net in _by_prefix(nets).items():
        part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(part, strict=True)
        except RuntimeError as exc:
            first = " ".join(str(exc).splitlines()[:4])
            raise GanaugError(f"weights {prefix}* in {w_path} do not match {cfg_path} ({what}): {first}") from exc
    return config, nets


def _by_prefix(nets: Nets) -> dict[str, Any]:
    return dict(nets) if isinstance(nets, Mapping) else {"": nets}


def _state_of(nets: Nets) -> dict[str, Any]:
    """The tensors the network(s) hold, under the names they have in the file."""
    return {prefix + k: v for prefix, net in _by_prefix(nets).items() for k, v in net.state_dict().items()}


def check_weights_fit(build: Callable[[], Any], state: dict, w_path: Path, cfg_path: Path, what: str) -> None:
    """Before the network is allocated: the tensors ``build()`` would make (built on the meta device, which allocates
    nothing; a network or its state dict) must be exactly those of ``state`` read from ``w_path``, with the same
    shapes, so a config that asks for a huge network, or names an argument the architecture does not take, is a clear
    error instead of gigabytes or a traceback."""
    import torch

    try:
        with torch.device("meta"):
            made = build()
            wanted = {k: tuple(v.shape) for k, v in (made if isinstance(made, dict) else made.state_dict()).items()}
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        if isinstance(exc, GanaugError):
            raise
        raise GanaugError(f"{cfg_path} describes a network that cannot be built ({what}): {exc}") from exc
    found = {k: tuple(v.shape) for k, v in state.items()}
    if wanted != found:
        size = sum(math.prod(shape) for shape in wanted.values())
        diff = sorted(set(wanted) ^ set(found)) or sorted(k for k in wanted if wanted[k] != found[k])
        detail = ", ".join(f"{k}: config {wanted.get(k)} vs file {found.get(k)}" for k in diff[:3])
        raise GanaugError(
            f"weights in {w_path} do not match {cfg_path} ({what}, {size:,} parameters as configured): {detail}"
        )
