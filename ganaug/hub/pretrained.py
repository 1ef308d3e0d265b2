"""The registry of pretrained generators: a bare name -> its ``hf-hub:`` repo pinned to a commit + weights sha256.

Entries ship with the package as ``ganaug/hub/pretrained_registry/<name>.json`` (so an installed ganaug finds them);
the repository's ``pretrained/<name>/`` folder holds the same ``entry.json`` next to the model card and the recipe.
``$GANAUG_REGISTRY`` may name extra folders (``os.pathsep``-separated) of ``<name>.json`` or ``<name>/entry.json``
files, searched first (e.g. an organisation's own registry).

Example:
    >>> g = ganaug.load_generator("medmnist-breast-biggan-28")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GanaugError
from ..fileio import sha256_file
from .client import download_model

PACKAGE_REGISTRY = Path(__file__).resolve().parent / "pretrained_registry"
REGISTRY_ENV = "GANAUG_REGISTRY"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,95}$")
WEIGHTS = "model.safetensors"


@dataclass
class Entry:
    """One registry entry (the content of ``entry.json``).

    Example:
        >>> Entry(name="demo", published=True, repo_id="me/demo", revision="0" * 40, sha256="ab" * 32).spec
        'me/demo@0000000000000000000000000000000000000000'
    """

    name: str
    published: bool = False
    repo_id: str | None = None
    revision: str | None = None
    sha256: str = ""
    description: str = ""
    task: str = "cgan"
    recipe: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    notes: str = ""
    path: str = ""  # where the entry was read from (not stored)

    @property
    def spec(self) -> str:
        return f"{self.repo_id}@{self.revision}"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "path"}
        return d

    @classmethod
    def from_dict(cls, d: dict, path: str = "") -> Entry:
        known = set(cls.__dataclass_fields__) - {"path"}
        unknown = sorted(set(d) - known)
        if unknown or "name" not in d:
            raise GanaugError(f"registry entry {path or d.get('name')!r} is malformed (unknown keys {unknown})")
        entry = cls(**d, path=path)
        if entry.published and not (entry.repo_id and entry.revision and re.fullmatch(r"[0-9a-f]{64}", entry.sha256)):
            raise GanaugError(f"registry entry {entry.name!r} is published but lacks repo_id, revision or sha256")
        return entry


def registry_dirs() -> list[Path]:
    extra = [Path(p).expanduser() for p in os.environ.get(REGISTRY_ENV, "").split(os.pathsep) if p.strip()]
    return [*extra, PACKAGE_REGISTRY]


def _entry_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.json"), *folder.glob("*/entry.json")])


def entries() -> dict[str, Entry]:
    """All entries by name; the first folder in :func:`registry_dirs` that defines a name wins."""
    found: dict[str, Entry] = {}
    for folder in registry_dirs():
        for path in _entry_files(folder):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise GanaugError(f"registry entry {path} cannot be read: {exc}") from exc
            entry = Entry.from_dict(data, str(path))
            found.setdefault(entry.name, entry)
    return found


def get(name: str) -> Entry | None:
    """The entry called ``name``, or None (names are lower-case: letters, digits, ``.``, ``_``, ``-``)."""
    if not NAME.match(name):
        return None
    return entries().get(name)


def resolve(name: str) -> Path:
    """Download (or find in the cache) a registry entry's export and check its weights' sha256."""
    entry = get(name)
    if entry is None:
        raise GanaugError(f"{name!r} is not in the pretrained registry; `ganaug list` shows the entries")
    if not entry.published:
        command = entry.recipe.get("command", "")
        raise GanaugError(
            f"pretrained model {name!r} is in the registry but not published on the Hub yet; "
            f"train it yourself with: {command}" + (f" (data: {entry.data.get('name')})" if entry.data else "")
        )
    folder = download_model(entry.spec)
    actual = sha256_file(folder / WEIGHTS)
    if actual != entry.sha256:
        raise GanaugError(
            f"refusing hf-hub:{entry.spec} for registry entry {name!r}: {WEIGHTS} has sha256 {actual}, "
            f"the registry expects {entry.sha256}; the download does not match what was published"
        )
    return folder


def build_entry(export: str | Path, name: str, **fields) -> Entry:
    """A new entry for an export folder: weights sha256, model summary and recipe read from its config.json.

    ``fields`` set the rest (``description``, ``data``, ``metrics``, ``notes``, and ``published``/``repo_id``/
    ``revision`` once the export is on the Hub).
    """
    from ..fileio import read_json

    export = Path(export)
    config = read_json(export / "config.json")
    data, training = config["data"], config.get("training", {})
    if not NAME.match(name):
        raise GanaugError(f"registry name {name!r} is not accepted; use lower-case letters, digits, '.', '_', '-'")
    model = {
        "arch": config["arch"],
        "classes": data.get("class_names"),
        "resolution": f"{data['height']}x{data['width']}",
        "channels": data["channels"],
        "dtype": data["dtype"],
        "preset": training.get("preset"),
        "ganaug_version": config.get("ganaug_version"),
    }
    recipe = {
        "command": training.get("command"),
        "steps": training.get("steps_done", training.get("steps")),
        "seed": training.get("seed"),
        "train_seconds": training.get("train_seconds"),
        "device": training.get("device_name"),
    }
    fields.setdefault("metrics", config.get("metrics") or {})
    return Entry(name=name, task=config.get("task", "cgan"), sha256=sha256_file(export / WEIGHTS), model=model,
                 recipe=recipe, **fields)  # fmt: skip


def write_entry(entry: Entry, card: str, repo_root: str | Path) -> Path:
    """Write ``pretrained/<name>/{entry.json,README.md}`` and the packaged copy ``ganaug/hub/pretrained_registry/``."""
    root = Path(repo_root)
    text = json.dumps(entry.to_dict(), indent=2) + "\n"
    folder = root / "pretrained" / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "entry.json").write_text(text, encoding="utf-8")
    (folder / "README.md").write_text(card, encoding="utf-8")
    packaged = root / "ganaug" / "hub" / "pretrained_registry"
    packaged.mkdir(parents=True, exist_ok=True)
    (packaged / f"{entry.name}.json").write_text(text, encoding="utf-8")
    return folder
