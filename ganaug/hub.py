"""Hugging Face Hub: download exports by repo id (pinned by revision), safetensors only."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import GanaugError

MODEL_FILES = ["config.json", "model.safetensors", "*.safetensors", "README.md", "samples.png"]
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def parse_repo(spec: str) -> tuple[str, str | None]:
    """``OWNER/NAME[@REVISION]`` -> (repo_id, revision)."""
    repo_id, _, revision = spec.partition("@")
    if not REPO_ID.match(repo_id) or ".." in repo_id:
        raise GanaugError(f"invalid Hub repo id {repo_id!r}; expected OWNER/NAME[@REVISION]")
    return repo_id, revision or None


def download_model(spec: str, cache_dir: str | Path | None = None) -> Path:
    """Download (or find in the cache) the files of a ganaug export; returns the local folder."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id, revision = parse_repo(spec)
    try:
        folder = Path(
            snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILES, cache_dir=cache_dir)
        )
    except RevisionNotFoundError as exc:
        raise GanaugError(f"revision {revision!r} does not exist in hf-hub:{repo_id}") from exc
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise GanaugError(
            f"hf-hub:{repo_id} was not found, or is private and no valid token was given (set HF_TOKEN)"
        ) from exc
    except LocalEntryNotFoundError as exc:
        raise GanaugError(f"hf-hub:{spec} is not in the local cache and the Hub cannot be reached (offline?)") from exc
    if not (folder / "model.safetensors").is_file():
        raise GanaugError(f"hf-hub:{spec} holds no model.safetensors; ganaug loads safetensors weights only")
    return folder
