"""Hugging Face Hub: push export folders and synthetic datasets, download exports pinned by revision.

Only ``config.json`` and ``*.safetensors`` are downloaded to load a model (``pull`` adds the card and the sample
grid); pickled weights are never fetched. ``huggingface_hub`` is imported inside the functions, so
``import ganaug`` stays light, and it brings the usual behaviour: ``HF_TOKEN``, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT``
and the shared cache (``HF_HUB_CACHE``). Tokens are passed to the client and never printed or logged.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import GanaugError
from .fileio import is_pickle_name

LOAD_FILES = ["config.json", "teacher.json", "*.safetensors"]
PULL_FILES = [*LOAD_FILES, "README.md", "*.png"]
PUSH_FILES = ["config.json", "*.json", "*.safetensors", "README.md", "*.png"]
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$", re.ASCII)
REVISION = re.compile(r"^[\w.\-/]{1,200}$", re.ASCII)
FORMS = "OWNER/NAME[@REVISION] (e.g. my-org/breastmnist-cgan@main)"


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


def parse_repo(spec: str) -> tuple[str, str | None]:
    """``[hf-hub:]OWNER/NAME[@REVISION]`` -> (repo_id, revision); anything else is a clear error."""
    text = spec[len("hf-hub:") :] if spec.startswith("hf-hub:") else spec
    repo_id, at, revision = text.partition("@")
    bad_id = not REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id or repo_id.endswith((".", "-"))
    if bad_id or repo_id.endswith(".git"):
        raise GanaugError(f"invalid Hub repo id {repo_id!r}; expected {FORMS}")
    if at and not REVISION.match(revision):
        raise GanaugError(f"invalid revision {revision!r} in {spec!r}; expected a branch, tag or commit id after '@'")
    return repo_id, revision or None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


@contextlib.contextmanager
def hub_errors(repo_id: str, revision: str | None = None, token: str | None = None, write: bool = False) -> Iterator:
    """Turn ``huggingface_hub`` errors into one-line GanaugErrors that say what to do (never showing a token)."""
    from huggingface_hub import errors
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import get_token

    incomplete = getattr(errors, "IncompleteSnapshotError", LocalEntryNotFoundError)  # huggingface_hub >= 1.x
    where = f"hf-hub:{repo_id}" + (f"@{revision}" if revision else "")
    try:
        has_token = bool(token or get_token())
    except Exception:  # a failing token source (e.g. OIDC exchange) counts as no token here
        has_token = bool(token)
    try:
        yield
    except RevisionNotFoundError as exc:
        raise GanaugError(
            f"revision {revision or 'main'!r} does not exist in hf-hub:{repo_id} (give a branch, tag or commit id)"
        ) from exc
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        if _status(exc) == 401 and not has_token:
            why = "the Hub answered 401: it is private (or does not exist) and no token was given; set HF_TOKEN"
        elif _status(exc) == 401:
            why = "the Hub answered 401: it is private and the token given has no access to it"
        else:
            why = "the Hub answered 404: it does not exist, or it is private and the token given has no access"
        raise GanaugError(f"{where} was not found: {why}") from exc
    except (LocalEntryNotFoundError, incomplete, OfflineModeIsEnabled) as exc:
        from huggingface_hub import constants

        state = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hub cannot be reached"
        answered = _status(exc.__cause__) if exc.__cause__ is not None else None
        if answered is not None and not constants.HF_HUB_OFFLINE:  # reached, but it failed: say how
            state = f"the Hub answered {answered}" + (" (a server error: try again later)" if answered >= 500 else "")
        if write:
            raise GanaugError(f"cannot push to {where}: {state}") from exc
        raise GanaugError(
            f"{where} is not in the local cache and {state}; download it once while online (ganaug pull {repo_id})"
        ) from exc
    except HfHubHTTPError as exc:
        status = _status(exc)
        if status == 401 and not has_token:
            raise GanaugError(
                f"the Hub answered 401 for {where}: a token is needed; set HF_TOKEN or pass --token"
            ) from exc
        if status == 401:
            raise GanaugError(f"the Hub refused the token for {where} (401: invalid credentials); check it") from exc
        if status == 403:
            raise GanaugError(f"no write access to {where} (403); use a token with write access to {repo_id}") from exc
        first = (str(exc).strip().splitlines() or ["no details"])[0]
        raise GanaugError(f"the Hub answered {status} for {where}: {first}") from exc
    except (OSError, *_transport_errors()) as exc:  # connection errors outside huggingface_hub's own handling
        raise GanaugError(f"cannot reach the Hub for {where}: {type(exc).__name__}: {exc}") from exc


def _transport_errors() -> tuple[type[BaseException], ...]:
    try:  # the HTTP client of huggingface_hub 1.x+; older releases raise OSError subclasses
        import httpx2

        return (httpx2.TransportError,)
    except ImportError:
        return ()


def repo_files(repo_id: str, commit: str, folder: Path) -> list[str]:
    """All files of the downloaded revision (from the cached tree listing), else the files in ``folder``."""
    try:
        from huggingface_hub import get_cached_repo_tree

        return sorted(f.path for f in get_cached_repo_tree(repo_id, revision=commit))
    except Exception:  # no cached listing: fall back to what is on disk
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def check_export_files(where: str, files: list[str]) -> None:
    """An export needs config.json and safetensors weights; pickled weights are refused by name."""
    weights = [f for f in files if f.endswith(".safetensors")]
    pickles = [f for f in files if is_pickle_name(f)]
    if not weights and pickles:
        raise GanaugError(
            f"{where} holds only pickled weights ({', '.join(pickles[:5])}); they are refused because loading them "
            "can run code. ganaug loads safetensors only (config.json + model.safetensors)"
        )
    if "config.json" not in files:
        raise GanaugError(
            f"{where} is not a ganaug export: it has no config.json (files: {', '.join(files) or 'none'})"
        )
    if not weights:
        raise GanaugError(f"{where} holds no .safetensors weights (files: {', '.join(files)})")


def download_model(spec: str, files: list[str] | None = None, token: str | None = None) -> Path:
    """Download (or find in the cache) the files of a ganaug export; returns the cached snapshot folder."""
    from huggingface_hub import snapshot_download

    repo_id, revision = parse_repo(spec)
    with hub_errors(repo_id, revision, token):
        folder = Path(
            snapshot_download(
                repo_id, revision=revision, allow_patterns=files or LOAD_FILES, token=token, library_name="ganaug"
            )
        )
    present = folder.is_dir() and (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))
    if not present:
        check_export_files(f"hf-hub:{spec}", repo_files(repo_id, folder.name, folder))
    return folder


def pull(repo_spec: str, out: str | Path | None = None, token: str | None = None) -> Path:
    """Download an export (config, weights, card, sample grid) into ``out``, or just into the cache. ``repo_spec`` is
    ``[hf-hub:]OWNER/NAME[@REVISION]`` or a name from the pretrained registry (``ganaug list``).

    Example:
        >>> pull("my-org/breastmnist-cgan@v1", out="models/breastmnist")  # doctest: +SKIP
    """
    from . import pretrained

    if pretrained.get(repo_spec) is not None:  # a registry name: its published repo and revision, checked
        folder = pretrained.resolve(repo_spec)
    else:
        folder = download_model(repo_spec, files=PULL_FILES, token=token)
    if out is None:
        return folder
    from .fileio import check_writable

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
    from .card import GENERATED_MARKER, render_card
    from .fileio import read_json

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

    from .model_sources import resolve_model

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

    from .data.hf import _datasets

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
    import json

    features = ds.features._to_yaml_list()
    lines = ["---", "tags:", "  - ganaug", "  - synthetic", "configs:", "  - config_name: default", "    data_files:"]
    lines += [f"      - split: {split}", f"        path: data/{split}-*", "dataset_info:", "  features:"]
    lines += [f"    - {json.dumps(f)}" for f in features]
    lines += [
        "  splits:",
        f"    - name: {split}",
        f"      num_bytes: {ds.data.nbytes}",
        f"      num_examples: {len(ds)}",
    ]
    lines += ["---", ""]
    synthetic = "is_synthetic" in ds.column_names
    lines += [
        f"# {repo_id.split('/')[1]}",
        "",
        f"{len(ds)} samples written by ganaug"
        + (" (the `is_synthetic` column marks generated rows)." if synthetic else "."),
        "Generated samples are not real observations: keep validation and test sets real.",
        "",
    ]
    return "\n".join(lines)
