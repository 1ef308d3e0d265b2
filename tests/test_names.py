"""Class names from outside become file names only through ganaug.names: nothing is written outside OUT."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from ganaug.errors import GanaugError
from ganaug.names import file_name, file_names

from .helpers import run_cli

HOSTILE = ["../../evil", "/abs/path", "ok\x07bell"]


def test_file_names_escape_paths_and_refuse_collisions():
    assert file_names(["T-shirt/top", "..", ".hidden", "a:b", ""]) == ["T-shirt_top", "_.", "_hidden", "a_b", "_"]
    for name in ["../../x", "/etc/passwd", "C:\\x", "a\x00b", "..\\..\\y"]:
        safe = file_name(name)
        assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and "\x00" not in safe
    with pytest.raises(GanaugError, match="'Cat' and 'cat'.*same file name"):
        file_names(["Cat", "cat"])
    with pytest.raises(GanaugError, match="'a/b' and 'a_b'"):
        file_names(["a/b", "a_b"])


@pytest.fixture()
def hostile_export(tiny_run, tmp_path):
    export = shutil.copytree(tiny_run / "export", tmp_path / "hostile")
    config = json.loads((export / "config.json").read_text())
    config["data"]["class_names"] = HOSTILE
    (export / "config.json").write_text(json.dumps(config))
    for name in ("teacher.json", "teacher.safetensors"):  # the teacher keeps the original names; not needed here
        (export / name).unlink(missing_ok=True)
    return export


def test_generate_and_sample_stay_inside_out(hostile_export, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "gen"
    args = ["--per-class", "2", "--out", str(out), "--recipe", "none", "--quiet"]
    proc = run_cli("generate", str(hostile_export), *args)
    assert proc.returncode == 0, proc.stderr
    files = [p for p in tmp_path.rglob("*.png") if "hostile" not in p.parts]
    assert len(files) == 6 and all(out in p.parents for p in files)
    with open(out / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["class"] for r in rows) == sorted(HOSTILE * 2)  # the manifest keeps the real names
    assert all((out / r["path"]).resolve().is_relative_to(out.resolve()) for r in rows)
    files_out = work / "files"
    proc = run_cli("sample", str(hostile_export), "--class", "0", "--n", "2", "--out", str(files_out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in files_out.iterdir()) == ["_._.._evil_0_00000.png", "_._.._evil_0_00001.png"]
    assert not (tmp_path / "evil_0_00000.png").exists() and not any(tmp_path.parent.glob("evil*"))


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a", "a", "b"], "repeats 'a'"),
        (["a", "b", "c", "d"], "names 4 classes but its network has 3"),
        (["a", 2, "c"], "must be strings"),
    ],
)
def test_config_class_names_are_checked_at_load(tiny_run, tmp_path, names, message):
    import ganaug

    export = shutil.copytree(tiny_run / "export", tmp_path / "bad")
    config = json.loads((export / "config.json").read_text())
    config["data"]["class_names"] = names
    (export / "config.json").write_text(json.dumps(config))
    with pytest.raises(GanaugError, match=message):
        ganaug.load_generator(export)
