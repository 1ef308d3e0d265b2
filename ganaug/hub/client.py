"""Hub access shared by every Hub-facing module: repo specs, one-line errors, and downloads of exports.

Only ``config.json``, ``teacher.json`` and ``*.safetensors`` are downloaded to load a model; pickled weights are never
fetched. ``huggingface_hub`` is imported inside the functions, so ``import ganaug`` stays light. The pretrained
registry and the MODEL sources download through here; pushing and pulling (``ganaug.hub.transfer``) build on them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import GanaugError
from ..fileio import is_pickle_name

LOAD_FILES = ["config.json", "teacher.json", "*.safetensors"]
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$", re.ASCII)
REVISION = re.compile(r"^[\w.\-/]{1,200}$", re.ASCII)
FORMS = "OWNER/NAME[@REVISION] (e.g. my-org/breastmnist-cgan@main)"


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
