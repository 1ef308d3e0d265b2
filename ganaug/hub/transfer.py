"""Hugging Face Hub: push export folders and synthetic datasets, pull exports pinned by revision.

Downloads go through ``ganaug.hub.client``: only ``config.json`` and ``*.safetensors`` are fetched to load a model
(``pull`` adds the card and the sample grid); pickled weights are never fetched. ``huggingface_hub`` is imported
inside the functions, so ``import ganaug`` stays light, and it brings the usual behaviour: ``HF_TOKEN``,
``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` and the shared cache (``HF_HUB_CACHE``). Tokens are passed to the client and never
printed or logged.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import GanaugError
from . import pretrained
from .client import LOAD_FILES, check_export_files, download_model, hub_errors, parse_repo

PULL_FILES = [*LOAD_FILES, "README.md", "*.png"]
PUSH_FILES = ["config.json", "*.json", "*.safetensors", "README.md", "*.png"]


class HubURL(str):
    """The URL of a pushed repo (at its branch), with the pushed ``commit`` id for pinning.

    Example:
        >>> url = ganaug.push_to_hub("runs/digits", "me/digits-cgan")  # doctest: +SKIP
        >>> f"hf-hub:{url.repo_id}@{url.commit}"  # doctest: +SKIP
    """

    repo_id: str
    revision: str
    commit: str

    def __new__(cls, url: str, repo_id: str, revision: str, commit: str) -> HubURL:
        obj = super().__new__(cls, url)
        obj.repo_id, obj.revision, obj.commit = repo_id, revision, commit
        return obj


def pull(repo_spec: str, out: str | Path | None = None, token: str | None = None) -> Path:
    """Download an export (config, weights, card, sample grid) into ``out``, or just into the cache. ``repo_spec`` is
    ``[hf-hub:]OWNER/NAME[@REVISION]`` or a name from the pretrained registry (``ganaug list``).

    Example:
        >>> pull("my-org/breastmnist-cgan@v1", out="models/breastmnist")  # doctest: +SKIP
    """
    if pretrained.get(repo_spec) is not None:  # a registry name: its published repo and revision, checked
        folder = pretrained.resolve(repo_spec)
    else:
        folder = download_model(repo_spec, files=PULL_FILES, token=token)
    if out is None:
        return folder
    from ..fileio import check_writable

    target = check_writable(out)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            dest = target / path.relative_to(folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path.resolve(), dest)  # the cache holds symlinks into blobs/
    return target


def _repo_url(endpoint: str, repo_id: str, revision: str | None, kind: str = "model") -> str:
    base = f"{endpoint.rstrip('/')}/{'datasets/' if kind == 'dataset' else ''}{repo_id}"
    return base if revision in (None, "main") else f"{base}/tree/{revision}"


def _prepare_branch(api: Any, repo_id: str, revision: str | None, private: bool, kind: str) -> None:
    if revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision):
        raise GanaugError(f"--revision {revision} is a commit id; push to a branch name (e.g. v1) instead")
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type=kind)
    if revision not in (None, "main"):
        api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type=kind)


def _stage_export(folder: Path, repo_id: str, stage: Path) -> Path:
    """The folder to upload: the export, with a generated card re-rendered so its usage lines name the repo."""
    from ..fileio import read_json
    from .card import GENERATED_MARKER, render_card

    readme = folder / "README.md"
    config = read_json(folder / "config.json")
    if config.get("task", "cgan") != "cgan" or (readme.is_file() and GENERATED_MARKER not in readme.read_text()):
        return folder  # a hand-edited card, or a task this renderer does not describe: upload as it is
    for path in folder.iterdir():
        if path.is_file() and path.name != "README.md":
            shutil.copyfile(path, stage / path.name)
    (stage / "README.md").write_text(render_card(config, repo_id.split("/")[1], repo_id=repo_id), encoding="utf-8")
    return stage


def push_to_hub(
    model: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str = "Upload ganaug export",
) -> HubURL:
    """Upload an export folder (any MODEL form) to ``repo_id`` in one commit; returns the repo URL (with ``.commit``).

    Creates the repo (``private`` if asked) and the branch ``revision`` when missing. The token defaults to
    ``HF_TOKEN`` or the saved login.

    Example:
        >>> url = ganaug.push_to_hub("runs/breastmnist", "my-org/breastmnist-cgan", private=True)  # doctest: +SKIP
    """
    from huggingface_hub import HfApi

    from .sources import resolve_model  # loads torch: only when pushing

    repo_id, at_revision = parse_repo(repo_id)
    if at_revision and revision and at_revision != revision:
        raise GanaugError(f"two revisions given: @{at_revision} and --revision {revision}")
    revision = revision or at_revision
    folder = resolve_model(model)
    check_export_files(str(folder), sorted(p.name for p in folder.iterdir() if p.is_file()))
    api = HfApi(token=token, library_name="ganaug")
    with tempfile.TemporaryDirectory(prefix="ganaug-push-") as tmp:
        staged = _stage_export(folder, repo_id, Path(tmp))
        with hub_errors(repo_id, revision, token, write=True):
            _prepare_branch(api, repo_id, revision, private, "model")
            info = api.upload_folder(
                folder_path=staged,
                repo_id=repo_id,
                revision=revision,
                commit_message=commit_message,
                allow_patterns=PUSH_FILES,
                ignore_patterns=[".*"],
            )
    return HubURL(_repo_url(api.endpoint, repo_id, revision), repo_id, revision or "main", info.oid)


def push_dataset(
    path_or_dataset: Any,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str = "Upload synthetic dataset made with ganaug",
    split: str = "train",
) -> HubURL:
    """Upload a ``datasets.Dataset`` (or a ``save_to_disk`` folder) as a Hub dataset repo in one commit.

    The data is written as parquet (``data/{split}-00000-of-00001.parquet``, with the features, so a ClassLabel
    and an ``is_synthetic`` column survive) with a dataset card declaring the split and the features.

    Example:
        >>> push_dataset("synthetic/", "my-org/breastmnist-synthetic")  # doctest: +SKIP
    """
    from huggingface_hub import HfApi

    from ..data.hf import _datasets

    datasets = _datasets()
    ds = path_or_dataset
    if isinstance(ds, (str, Path)):
        try:
            ds = datasets.load_from_disk(str(Path(ds).expanduser()))
        except Exception as exc:
            raise GanaugError(f"cannot load the saved dataset in {str(path_or_dataset)!r}: {exc}") from exc
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise GanaugError(f"the dataset has no split {split!r}; splits: {', '.join(ds)}")
        ds = ds[split]
    if not isinstance(ds, datasets.Dataset):
        raise GanaugError(f"push_dataset needs a datasets.Dataset or a save_to_disk folder, got {type(ds).__name__}")
    repo_id, _ = parse_repo(repo_id)
    api = HfApi(token=token, library_name="ganaug")
    with tempfile.TemporaryDirectory(prefix="ganaug-ds-") as tmp:
        stage = Path(tmp)
        (stage / "data").mkdir()
        ds.to_parquet(str(stage / "data" / f"{split}-00000-of-00001.parquet"))
        (stage / "README.md").write_text(_dataset_card(ds, repo_id, split), encoding="utf-8")
        with hub_errors(repo_id, revision, token, write=True):
            _prepare_branch(api, repo_id, revision, private, "dataset")
            info = api.upload_folder(
                folder_path=stage,
                repo_id=repo_id,
                repo_type="dataset",
                revision=revision,
                commit_message=commit_message,
            )
    return HubURL(_repo_url(api.endpoint, repo_id, revision, "dataset"), repo_id, revision or "main", info.oid)


def _dataset_card(ds: Any, repo_id: str, split: str) -> str:
    """README.md of a pushed dataset: its metadata (the split's files, features and size) as
    ``huggingface_hub.DatasetCardData``, then a short description."""
    from huggingface_hub import DatasetCard, DatasetCardData

    data = DatasetCardData(
        tags=["ganaug", "synthetic"],
        configs=[{"config_name": "default", "data_files": [{"split": split, "path": f"data/{split}-*"}]}],
        dataset_info={
            # the features as the Hub reads them (ClassLabel names included); `datasets` has no public form of it
            "features": ds.features._to_yaml_list(),
            "splits": [{"name": split, "num_bytes": ds.data.nbytes, "num_examples": len(ds)}],
        },
    )
    synthetic = "is_synthetic" in ds.column_names
    body = [
        f"# {repo_id.split('/')[1]}",
        "",
        f"{len(ds)} samples written by ganaug"
        + (" (the `is_synthetic` column marks generated rows)." if synthetic else "."),
        "Generated samples are not real observations: keep validation and test sets real.",
        "",
    ]
    return str(DatasetCard("---\n" + data.to_yaml() + "\n---\n\n" + "\n".join(body)))
