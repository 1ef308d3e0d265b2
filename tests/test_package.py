"""Package-level rules: light import, no pickle or torch.save/load anywhere in the package."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .helpers import REPO


@pytest.mark.parametrize("module", ["ganaug", "ganaug.cli"])  # the CLI: `ganaug --help` starts in a moment
def test_import_is_light(module):
    heavy = "('torch', 'torchvision', 'datasets', 'matplotlib', 'albumentations', 'huggingface_hub', 'sklearn')"
    code = f"import sys, {module}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_no_pickle_in_package():
    pattern = re.compile(r"torch\.save\(|torch\.load\(|^\s*import pickle|^\s*from pickle|cloudpickle", re.M)
    hits = [str(p) for p in (REPO / "ganaug").rglob("*.py") if pattern.search(p.read_text())]
    assert hits == []


def test_atomic_writes_get_normal_permissions(tmp_path):
    import os

    from ganaug.fileio import write_json

    mask = os.umask(0o022)
    try:
        path = write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_safetensors_files_are_readable_by_others(tmp_path):
    import os

    import torch

    from ganaug.fileio import save_tensors

    mask = os.umask(0o022)
    try:
        path = save_tensors(tmp_path / "w.safetensors", {"w": torch.ones(2)})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # safetensors replaces the file; the mode is set after writing


def test_one_list_of_pickle_suffixes_is_refused_everywhere(tmp_path):
    import pytest

    from ganaug.data import read_data
    from ganaug.errors import GanaugError
    from ganaug.fileio import PICKLE_SUFFIXES
    from ganaug.hub.sources import refuse_unsafe

    for suffix in PICKLE_SUFFIXES:
        path = tmp_path / f"thing{suffix.upper()}"
        path.write_bytes(b"\x80\x04N.")  # a pickle of None
        with pytest.raises(GanaugError, match="can run code"):
            refuse_unsafe(path)
        with pytest.raises(GanaugError, match="can run code"):
            read_data(path)
