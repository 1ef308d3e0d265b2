"""--init-from: a new run starts from another run's networks (class embeddings only for the same classes), records
where it started, resumes without the source, and refuses a source that does not fit."""

from __future__ import annotations

import json
import shutil

import pytest

import ganaug
from ganaug.errors import GanaugError
from ganaug.training.checkpoint import latest_checkpoint, load_checkpoint

from .conftest import make_image_folder
from .helpers import run_cli

TINY = {"arch": "dcgan", "ch": 8, "latent_dim": 16, "batch_size": 8, "progress": False, "teacher_epochs": 0}


def checkpoint_tensors(run_path):
    return load_checkpoint(latest_checkpoint(run_path))[0]


def largest_change(a: dict, b: dict, prefix: str, skip: str) -> float:
    """The largest absolute difference between the weights of one network in two checkpoints."""
    buffers = ("running_", "num_batches", "._u", "._v")  # statistics a forward pass updates
    keys = [k for k in a if k.startswith(prefix) and skip not in k and a[k].is_floating_point()]
    keys = [k for k in keys if not any(b in k for b in buffers)]
    assert keys
    return max((a[k] - b[k]).abs().max().item() for k in keys if a[k].shape == b[k].shape)


def test_init_from_copies_the_networks_and_leaves_other_classes_fresh(tiny_run, tmp_path):
    data = make_image_folder(tmp_path / "two", class_counts={"left": 4, "right": 4}, channels=3, seed=1)
    started = ganaug.fit(data, steps=1, init_from=tiny_run, out=tmp_path, name="started", **TINY)
    fresh = ganaug.fit(data, steps=1, out=tmp_path, name="fresh", **TINY)
    source, after, scratch = (checkpoint_tensors(p) for p in (tiny_run, started.path, fresh.path))
    for net in ("G.", "D.", "EMA."):
        # one Adam step moves a weight by about the learning rate (2e-4): the started run is the source plus that step
        assert largest_change(after, source, net, skip="embed") < 2e-3
        assert largest_change(scratch, source, net, skip="embed") > 0.05
    assert after["G.embed.weight"].shape[0] == 2 and source["G.embed.weight"].shape[0] == 3  # its own classes

    config = json.loads((started.export / "config.json").read_text())
    init = config["training"]["init_from"]
    assert init["step"] == 4 and init["classes"] == ["circle", "square", "triangle"]
    assert init["copied"] > 0 and init["fresh"] >= 3  # G.embed, D.head.embed (+ its parametrization vectors)
    card = (started.export / "README.md").read_text()
    assert f"started from the weights of run `{tiny_run.name}` at step 4" in card


def test_same_classes_keep_their_embeddings(tiny_gray_run, tmp_path):
    data = make_image_folder(tmp_path / "ab", class_counts={"a": 4, "b": 4}, channels=1, seed=2)
    run = ganaug.fit(data, steps=1, init_from=tiny_gray_run, out=tmp_path, name="same", **TINY)
    source, after = checkpoint_tensors(tiny_gray_run), checkpoint_tensors(run.path)
    assert (after["G.embed.weight"] - source["G.embed.weight"]).abs().max().item() < 2e-3


def test_a_resumed_run_does_not_read_the_source_again(tiny_run, tmp_path):
    source = shutil.copytree(tiny_run, tmp_path / "source")
    data = make_image_folder(tmp_path / "two", class_counts={"left": 4, "right": 4}, channels=3, seed=1)
    run = ganaug.fit(data, steps=2, checkpoint_every=1, init_from=source, out=tmp_path, name="resumed", **TINY)
    shutil.rmtree(source)
    resumed = ganaug.fit(resume=run.path, steps=4, progress=False)
    assert resumed.steps_done == 4
    saved = json.loads((run.path / "fit_config.json").read_text())
    assert saved["init_from"]["run"] == str(source) and saved["init_from"]["copied"] > 0  # it survives the resume
    assert json.loads((run.export / "config.json").read_text())["training"]["init_from"]["step"] == 4


def test_dry_run_names_the_source(tiny_run, tmp_path):
    data = make_image_folder(tmp_path / "two", class_counts={"left": 3, "right": 3}, channels=3)
    args = ["fit", str(data), "--arch", "dcgan", "--ch", "8", "--latent-dim", "16", "--init-from", str(tiny_run)]
    out = run_cli(*args, "--dry-run")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["init_from"]["step"] == 4
    assert any("fresh class embeddings" in note for note in plan["notes"])


def test_bad_sources_say_what_differs(tiny_run, tmp_path):
    rgb = make_image_folder(tmp_path / "rgb", class_counts={"x": 3, "y": 3}, channels=3)
    with pytest.raises(GanaugError, match="not a ganaug run folder"):
        ganaug.fit(rgb, steps=1, init_from=tmp_path, out=tmp_path, **TINY)
    with pytest.raises(GanaugError, match="fitted with --arch dcgan; this run is --arch mlp"):
        ganaug.fit(rgb, steps=1, init_from=tiny_run, out=tmp_path, **{**TINY, "arch": "mlp"})
    with pytest.raises(GanaugError, match=r"another shape \(ch: 8 there, 16 here\)"):
        ganaug.fit(rgb, steps=1, init_from=tiny_run, out=tmp_path, **{**TINY, "ch": 16})
    big = make_image_folder(tmp_path / "big", class_counts={"x": 3, "y": 3}, size=(16, 16), channels=3)
    with pytest.raises(GanaugError, match="height: 8 there, 16 here"):
        ganaug.fit(big, steps=1, init_from=tiny_run, out=tmp_path, **TINY)
    empty = tmp_path / "no-checkpoint"
    empty.mkdir()
    shutil.copy(tiny_run / "fit_config.json", empty / "fit_config.json")
    with pytest.raises(GanaugError, match="has no checkpoint yet"):
        ganaug.fit(rgb, steps=1, init_from=empty, out=tmp_path, **TINY)
    assert not list(tmp_path.glob("rgb-*")) and not list(tmp_path.glob("big-*"))  # refused before a run folder


def test_init_from_is_refused_for_cyclegan(tiny_run, tmp_path):
    a = make_image_folder(tmp_path / "a", class_counts={"x": 2}, channels=3)
    b = make_image_folder(tmp_path / "b", class_counts={"y": 2}, channels=3, seed=3)
    with pytest.raises(GanaugError, match="do not apply to --task cyclegan: --init-from"):
        ganaug.fit((a, b), task="cyclegan", steps=1, init_from=tiny_run, out=tmp_path, progress=False)


def test_a_damaged_source_checkpoint_is_refused(tiny_run, tmp_path):
    source = shutil.copytree(tiny_run, tmp_path / "source")
    state = latest_checkpoint(source) / "state.safetensors"
    raw = bytearray(state.read_bytes())
    raw[-64:] = bytes(64)
    state.write_bytes(bytes(raw))
    data = make_image_folder(tmp_path / "two", class_counts={"left": 3, "right": 3}, channels=3)
    with pytest.raises(GanaugError, match="cannot be read"):
        ganaug.fit(data, steps=1, init_from=source, out=tmp_path, name="damaged", **TINY)
