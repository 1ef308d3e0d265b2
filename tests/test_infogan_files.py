"""InfoGAN codes in the file commands: ``ganaug generate/balance --code NAME=VALUE`` and ``synthetic_files(codes=)``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ganaug
from ganaug.cli import main
from ganaug.errors import GanaugError
from ganaug.generation.synthetic_files import balance, generate, plan_generate

from .helpers import TINY, write_class_folder


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> tuple[Path, Path]:
    """DATA (2 classes, 8x8 gray) and a tiny dcgan fitted on it with codes c0 (3 values) and u0."""
    root = tmp_path_factory.mktemp("info_files")
    folder = write_class_folder(root / "data", {"a": 6, "b": 3})
    run = ganaug.fit(folder, **TINY, info_codes="cat:3,cont:1", sample_every=100, progress=False, steps=4,
                     out=root / "runs", name="coded")  # fmt: skip
    return folder, run.path


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def pixels(out: Path) -> dict[str, np.ndarray]:
    return {r["path"]: np.asarray(Image.open(out / r["path"])) for r in manifest(out)}


def test_generate_with_a_fixed_code_is_reproducible_and_the_code_acts(coded, tmp_path):
    _, model = coded
    outs = {}
    for name, code in (("one", "c0=1"), ("again", "c0=1"), ("two", "c0=2")):
        outs[name] = tmp_path / name
        result = invoke("generate", model, "--per-class", 3, "--out", outs[name], "--seed", 5, "--code", code,
                        "--code", "u0=0.5", "--quiet")  # fmt: skip
        assert result.exit_code == 0, result.output
    one, again, two = (pixels(outs[k]) for k in ("one", "again", "two"))
    assert one.keys() == two.keys() and len(one) == 6
    assert all(np.array_equal(one[k], again[k]) for k in one)  # one seed and codes: the same files
    assert any(not np.array_equal(one[k], two[k]) for k in one)  # another value of c0: other samples
    rows = manifest(outs["one"])
    assert list(rows[0]) == ["path", "class", "is_synthetic", "seed", "codes"]
    assert {r["codes"] for r in rows} == {"c0=1 u0=0.5"}
    g = ganaug.load_generator(model)  # the manifest's seed and codes draw a file again
    row = rows[4]
    x = g.to_data(g.sample(row["class"], 1, seed=int(row["seed"]), codes={"c0": 1, "u0": 0.5}))[0][..., 0]
    assert np.abs(x.astype(int) - one[row["path"]]).max() <= 1
    dry = invoke("generate", model, "--per-class", 2, "--out", tmp_path / "x", "--code", "c0=2", "--dry-run")
    assert json.loads(dry.output)["codes"] == {"c0": 2.0} and not (tmp_path / "x").exists()
    plain = invoke("generate", model, "--per-class", 1, "--out", tmp_path / "plain", "--quiet")
    assert plain.exit_code == 0 and "codes" not in manifest(tmp_path / "plain")[0]  # no codes, no column
    assert plan_generate(model, 1, codes={"u0": "0.25"}).to_dict()["codes"] == {"u0": 0.25}
    generate(model, 3, tmp_path / "py", seed=5, codes={"c0": 1, "u0": 0.5}, progress=False)
    assert manifest(tmp_path / "py") == rows  # the Python API writes what the command writes


def test_balance_records_the_codes_of_its_synthetic_files(coded, tmp_path):
    data, model = coded
    out = tmp_path / "balanced"
    result = invoke("balance", data, model, "--out", out, "--code", "u0=-1", "--quiet")
    assert result.exit_code == 0, result.output
    rows = manifest(out)
    synthetic = [r for r in rows if r["is_synthetic"] == "true"]
    assert len(synthetic) == 3 and all(r["class"] == "b" and r["codes"] == "u0=-1" for r in synthetic)
    assert all(r["codes"] == "" for r in rows if r["is_synthetic"] == "false")
    dry = json.loads(invoke("balance", data, model, "--out", tmp_path / "x", "--code", "u0=-1", "--dry-run").output)
    assert dry["codes"] == {"u0": -1.0} and dry["classes"]["b"] == {"real": 3, "added": 3, "total": 6}
    balance(data, model, tmp_path / "py", codes={"u0": -1}, progress=False)
    assert manifest(tmp_path / "py") == rows
    other = tmp_path / "other"
    assert invoke("balance", data, model, "--out", other, "--code", "u0=1", "--quiet").exit_code == 0
    first, second = pixels(out), pixels(other)
    assert any(not np.array_equal(first[r["path"]], second[r["path"]]) for r in synthetic)


@pytest.mark.parametrize("command", ["generate", "balance"])
def test_bad_codes_are_the_errors_sample_gives(coded, tiny_gray_run, tmp_path, command):
    data, model = coded

    def run(source: Path, *codes: str):
        head = [command, source, "--per-class", 1] if command == "generate" else [command, data, source]
        return invoke(*head, "--out", tmp_path / "out", *[a for c in codes for a in ("--code", c)])

    for source, code, message in (
        (model, "c0", "--code 'c0' is not accepted; give NAME=VALUE"),
        (model, "c0=3", "code c0=3 is out of range; it takes an integer from 0 to 2"),
        (model, "u0=2", "code u0=2 is out of range; it takes a number from -1 to 1"),
        (model, "z9=1", "unknown code 'z9'; this model's codes: c0"),
        (tiny_gray_run, "c0=1", "this model has no latent codes (train with --info-codes)"),
    ):
        result = run(source, code)
        assert result.exit_code == 1 and message in result.output, (code, result.output)
        assert not (tmp_path / "out").exists()
    with pytest.raises(GanaugError, match="no latent codes"):
        plan_generate(tiny_gray_run, 1, codes={"c0": 1})


def test_a_hugging_face_dataset_has_a_codes_column(coded, tmp_path):
    datasets = pytest.importorskip("datasets")
    _, model = coded
    generate(model, 2, tmp_path / "hf", format="hf", codes={"c0": 0}, progress=False)
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds["codes"] == ["c0=0"] * 4 and ds.features["codes"].dtype == "string"
