"""MODEL sources: a run folder, an export folder, ``hf-hub:OWNER/NAME[@REVISION]``, or a pretrained registry name.

Strict, no fallback: a bare name that is both a registry entry and a local folder is ambiguous and an error.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GanaugError
from ..fileio import is_pickle_name, refuse_pickle
from ..generation.generator import CONFIG_NAME, WEIGHTS_NAME, Generator
from . import pretrained
from .client import download_model

HUB_PREFIX = "hf-hub:"
ACCEPTED = (
    "a run folder made by `ganaug fit`, an export folder (config.json + model.safetensors), "
    "hf-hub:OWNER/NAME[@REVISION], or a name from the pretrained registry (`ganaug list`)"
)


def refuse_unsafe(path: str | Path) -> None:
    """A clear error for a MODEL that names pickled weights (``fileio.PICKLE_SUFFIXES``), listing the accepted forms."""
    refuse_pickle(path, "Accepted MODEL forms: " + ACCEPTED)


def resolve_model(source: str | Path) -> Path:
    """The local export folder that ``source`` names (downloading it for ``hf-hub:``)."""
    text = str(source)
    refuse_unsafe(text)
    if text.startswith(HUB_PREFIX):
        return download_model(text[len(HUB_PREFIX) :])
    path = Path(text).expanduser()
    if isinstance(source, str) and _is_bare_name(text):
        if pretrained.get(text) is not None:
            if path.exists():
                raise GanaugError(
                    f"{text!r} is both a pretrained registry name and a local path; write ./{text} for the folder "
                    f"or hf-hub:OWNER/NAME for a Hub repo"
                )
            return pretrained.resolve(text)
    if not path.exists():
        raise GanaugError(f"model {text!r} does not exist; accepted MODEL forms: {ACCEPTED}")
    if path.is_file():
        if path.name in (CONFIG_NAME, WEIGHTS_NAME):
            return path.parent
        raise GanaugError(f"{text} is a file; accepted MODEL forms: {ACCEPTED}")
    if (path / CONFIG_NAME).is_file():
        return path
    if (path / "fit_config.json").is_file():
        export = path / "export"
        if (export / CONFIG_NAME).is_file():
            return export
        raise GanaugError(
            f"run folder {text} has no export yet (training did not finish); "
            f"continue it with `ganaug fit --resume {text}`"
        )
    refused = sorted(p.name for p in path.iterdir() if is_pickle_name(p.name))
    if refused:
        raise GanaugError(f"{text} holds only pickled weights ({', '.join(refused)}); ganaug loads safetensors only")
    raise GanaugError(f"{text} is not a ganaug model folder (no config.json); accepted MODEL forms: {ACCEPTED}")


def _is_bare_name(text: str) -> bool:
    """A registry-style name: no path separator, no scheme, not a dot path."""
    return bool(text) and "/" not in text and "\\" not in text and ":" not in text and not text.startswith(".")


def load_generator(source: str | Path | Generator, device: str = "cpu") -> Generator:
    """Load a class-conditional generator from any MODEL form; safetensors only.

    Example:
        >>> g = load_generator("runs/digits")  # doctest: +SKIP
    """
    if isinstance(source, Generator):
        return source
    folder = resolve_model(source)
    return Generator.from_folder(folder, source=str(source)).to(device)
