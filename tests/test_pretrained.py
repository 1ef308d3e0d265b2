"""The pretrained registry: packaged entries, unpublished entries, names vs paths (no Hub needed)."""

from __future__ import annotations

import json

import pytest

import ganaug
from ganaug.errors import GanaugError
from ganaug.hub import pretrained

from .helpers import REPO, run_cli


def test_packaged_entries_match_the_repository_folders():
    packaged = sorted(pretrained.PACKAGE_REGISTRY.glob("*.json"))
    folders = sorted(p for p in (REPO / "pretrained").iterdir() if p.is_dir())
    assert [p.stem for p in packaged] == [f.name for f in folders] and packaged
    for path, folder in zip(packaged, folders, strict=True):
        assert path.read_text() == (folder / "entry.json").read_text()
        entry = pretrained.Entry.from_dict(json.loads(path.read_text()))
        assert (
            entry.name == folder.name and len(entry.sha256) == 64 and entry.recipe["command"].startswith("ganaug fit")
        )
        assert entry.published or (entry.repo_id is None and "not uploaded" in entry.notes.lower())


def test_unpublished_entry_is_a_clear_error():
    name = next(n for n, e in pretrained.entries().items() if not e.published)
    with pytest.raises(GanaugError, match=f"{name}.*not published on the Hub yet; train it yourself with: ganaug fit"):
        ganaug.load_generator(name)


def test_unknown_name_lists_the_accepted_forms():
    with pytest.raises(GanaugError, match="does not exist; accepted MODEL forms: .*hf-hub:.*pretrained registry"):
        ganaug.load_generator("no-such-model")


def test_malformed_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUG_REGISTRY", str(tmp_path))
    (tmp_path / "x.json").write_text(json.dumps({"name": "x", "published": True, "repo_id": "a/b"}))
    with pytest.raises(GanaugError, match="published but lacks repo_id, revision or sha256"):
        pretrained.entries()
    (tmp_path / "x.json").write_text(json.dumps({"name": "x", "weights": "y"}))
    with pytest.raises(GanaugError, match="malformed"):
        pretrained.entries()


def test_extra_registry_folders_come_first(tmp_path, monkeypatch, tiny_run):
    entry = pretrained.build_entry(tiny_run / "export", "medmnist-breast-biggan-28", description="override")
    (tmp_path / "medmnist-breast-biggan-28").mkdir()
    (tmp_path / "medmnist-breast-biggan-28" / "entry.json").write_text(json.dumps(entry.to_dict()))
    monkeypatch.setenv("GANAUG_REGISTRY", str(tmp_path))
    assert pretrained.get("medmnist-breast-biggan-28").description == "override"
    with pytest.raises(GanaugError, match="registry name 'Bad Name' is not accepted"):
        pretrained.build_entry(tiny_run / "export", "Bad Name")


def test_cli_list():
    shown = run_cli("list")
    assert shown.returncode == 0, shown.stderr
    for name, entry in pretrained.entries().items():
        assert name in shown.stdout and entry.sha256 in shown.stdout
    assert "not published yet" in shown.stdout
    as_json = run_cli("list", "--json")
    assert {e["name"] for e in json.loads(as_json.stdout)} == set(pretrained.entries())
