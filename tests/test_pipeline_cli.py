"""``ganaug balance`` and ``ganaug generate``: files, manifest, Hugging Face output, bad input, the example script."""

from __future__ import annotations

import csv
import filecmp
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ganaug
from ganaug.cli import main
from ganaug.data import read_data
from ganaug.generation.datasets import ClassBalancedDataset

from .helpers import REPO, run_cli
from .pipeline_support import breast_items, breast_npz, breast_run


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def read_manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == ["path", "class", "is_synthetic", "seed"]
    return rows


def test_generate_folder(tiny_run, tmp_path):
    out = tmp_path / "gen"
    result = invoke("generate", tiny_run, "--per-class", 3, "--out", out, "--seed", 4, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    rows = read_manifest(out)
    assert Counter(r["class"] for r in rows) == {"circle": 3, "square": 3, "triangle": 3}
    assert all(r["is_synthetic"] == "true" and (out / r["path"]).is_file() for r in rows)
    first = next(r for r in rows if r["path"] == "square/ganaug_4_00001.png")
    image = np.asarray(Image.open(out / first["path"]))
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    again = ganaug.load_generator(tiny_run)
    x = again.to_data(again.generate(["square"], seed=int(first["seed"])))[0]
    assert np.abs(x.astype(int) - image).max() <= 1  # the manifest's seed reproduces the file
    dry = invoke("generate", tiny_run, "--per-class", 2, "--out", tmp_path / "x", "--classes", "circle,2", "--dry-run")
    assert json.loads(dry.output)["classes"] == {"circle": 2, "triangle": 2} and not (tmp_path / "x").exists()


def _full_disk_after(limit: int):
    """A child process whose files cannot grow past ``limit`` bytes: writes fail as on a full disk (EFBIG)."""
    import resource
    import signal

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file-size limits")
def test_generate_on_a_full_disk_says_so_in_one_line_and_leaves_no_partial_folder(tiny_run, tmp_path):
    out = tmp_path / "gen"
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    args = [sys.executable, "-m", "ganaug", "generate", str(tiny_run), "--per-class", "40", "--out", str(out)]
    proc = subprocess.run([*args, "--quiet"], capture_output=True, text=True, env=env, timeout=300,
                          preexec_fn=_full_disk_after(150))  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "File too large" in proc.stderr and "free some space or write elsewhere" in proc.stderr
    assert not out.exists() or not any(out.iterdir())  # no partial output
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # nor a staging folder


def test_two_commands_writing_one_folder_the_second_is_refused(tiny_run, tmp_path):
    from ganaug.errors import GanaugError
    from ganaug.fileio import file_mode
    from ganaug.generation.synthetic_files import staged_output

    out = tmp_path / "out"
    with pytest.raises(GanaugError, match="filled by another command while this one wrote; nothing of this run"):
        with staged_output(str(out)) as staged:
            (staged / "mine.txt").write_text("mine")
            (out / "theirs.txt").write_text("theirs")  # the other command finished first
    assert sorted(p.name for p in out.iterdir()) == ["theirs.txt"]  # theirs kept whole, nothing of ours mixed in
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with staged_output(str(tmp_path / "new")) as staged:
        (staged / "a.txt").write_text("a")
        assert not any((tmp_path / "new").iterdir())  # nothing visible until the end
    assert (tmp_path / "new" / "a.txt").read_text() == "a"
    assert (tmp_path / "new").stat().st_mode & 0o777 == file_mode(0o777)


def test_generate_hf(tiny_gray_run, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    result = invoke("generate", tiny_gray_run, "--per-class", 4, "--out", out, "--format", "hf", "--quiet")
    assert result.exit_code == 0, result.output
    ds = datasets.load_from_disk(str(out))
    assert len(ds) == 8 and ds.features["label"].names == ["a", "b"]
    assert all(ds["is_synthetic"]) and Counter(ds["label"]) == {0: 4, 1: 4}
    assert ds[0]["image"].mode == "L" and ds[0]["image"].size == (8, 8)
    assert read_data(str(out)).config.class_names == ["a", "b"]


def test_balance_class_folder(tiny_run, image_folder_factory, tmp_path):
    data = image_folder_factory(class_counts={"circle": 5, "square": 2, "triangle": 1})
    out = tmp_path / "balanced"
    result = invoke("balance", data, tiny_run, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = read_manifest(out)
    assert Counter(r["class"] for r in rows) == {"circle": 5, "square": 5, "triangle": 5}
    real = [r for r in rows if r["is_synthetic"] == "false"]
    assert len(real) == 8 and all(r["seed"] == "" for r in real)
    for r in real:  # every real file, byte for byte, under its class
        assert filecmp.cmp(out / r["path"], data / r["path"], shallow=False)
    synthetic = [r for r in rows if r["is_synthetic"] == "true"]
    assert all(int(r["seed"]) >= 0 and (out / r["path"]).is_file() for r in synthetic)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == sorted(r["path"] for r in rows)
    linked = invoke("balance", data, tiny_run, "--out", tmp_path / "linked", "--real", "symlink", "--target", 6)
    assert linked.exit_code == 0, linked.output
    assert (tmp_path / "linked" / "circle" / "circle_000.png").is_symlink()
    assert Counter(r["class"] for r in read_manifest(tmp_path / "linked")) == {"circle": 6, "square": 6, "triangle": 6}


def test_balance_and_generate_from_python_write_what_the_commands_write(tiny_run, image_folder_factory, tmp_path):
    from ganaug.generation.synthetic_files import balance, generate, plan_balance, plan_generate

    data = image_folder_factory(class_counts={"circle": 5, "square": 2, "triangle": 1})
    plan = plan_balance(data, tiny_run, target=6, seed=3)
    assert plan.classes["square"] == {"real": 2, "added": 4, "total": 6} and not (tmp_path / "py").exists()
    assert balance(data, tiny_run, tmp_path / "py", target=6, seed=3, progress=False) == tmp_path / "py"
    assert invoke("balance", data, tiny_run, "--out", tmp_path / "cli", "--target", 6, "--seed", 3).exit_code == 0
    assert read_manifest(tmp_path / "py") == read_manifest(tmp_path / "cli")
    for row in read_manifest(tmp_path / "py"):
        assert filecmp.cmp(tmp_path / "py" / row["path"], tmp_path / "cli" / row["path"], shallow=False)
    assert plan_generate(tiny_run, 2, classes=[1]).to_dict()["classes"] == {"square": 2}
    generate(tiny_run, 2, tmp_path / "gen-py", classes="square", seed=1, progress=False)
    assert invoke("generate", tiny_run, "--per-class", 2, "--out", tmp_path / "gen-cli", "--classes", "square",
                  "--seed", 1).exit_code == 0  # fmt: skip
    assert read_manifest(tmp_path / "gen-py") == read_manifest(tmp_path / "gen-cli")


def test_balance_breastmnist_matches_class_balanced_dataset(shared_data, tmp_path_factory, tmp_path):
    run = breast_run(shared_data, tmp_path_factory)
    out = tmp_path / "breast"
    result = invoke("balance", breast_npz(shared_data), run, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = read_manifest(out)
    assert Counter(r["class"] for r in rows) == {"0": 399, "1": 399}
    assert Counter((r["class"], r["is_synthetic"]) for r in rows)[("0", "true")] == 252
    balanced = ClassBalancedDataset(breast_items(shared_data), run)
    written = np.asarray(Image.open(out / "0" / "ganaug_0_00007.png"))
    from_dataset = np.asarray(balanced[546 + 7][0])
    assert written.shape == (28, 28) and np.abs(written.astype(int) - from_dataset).max() <= 1


def test_bad_input(tiny_run, image_folder_factory, tmp_path):
    data = image_folder_factory(class_counts={"circle": 3, "square": 1})
    low = invoke("balance", data, tiny_run, "--out", tmp_path / "o", "--target", 2)
    assert low.exit_code == 1 and "Error: target 2 for class 'circle' is below its 3 real samples" in low.output
    assert not (tmp_path / "o").exists()
    bad_target = invoke("balance", data, tiny_run, "--out", tmp_path / "o", "--target", "most")
    assert bad_target.exit_code == 1 and "--target must be max or a count N" in bad_target.output
    unknown = image_folder_factory("other", class_counts={"hexagon": 2})
    result = invoke("balance", unknown, tiny_run, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "DATA class 'hexagon' is not one of the generator's classes" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    result = invoke("generate", tiny_run, "--per-class", 1, "--out", tmp_path / "full")
    assert result.exit_code == 1 and "is not empty" in result.output
    result = invoke("generate", tiny_run, "--per-class", 1, "--out", tmp_path / "g", "--classes", "hexagon")
    assert result.exit_code == 1 and "not one of this generator's classes" in result.output
    proc = run_cli("generate", str(data), "--per-class", "1", "--out", str(tmp_path / "g"))
    assert proc.returncode == 1 and proc.stderr.startswith("Error: ") and "not a ganaug model" in proc.stderr


@pytest.mark.parametrize(
    "script, printed", [("augment_pipeline.py", "balanced: real"), ("albumentations_pipeline.py", "saved and restored")]
)
def test_example_scripts_run(tiny_run, tmp_path, script, printed):
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    cmd = [sys.executable, str(REPO / "examples" / script), "--model", str(tiny_run), "--work", str(tmp_path)]
    proc = subprocess.run([*cmd, "--images", "24"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "batch: (16, 3, 16, 16)" in proc.stdout and printed in proc.stdout
