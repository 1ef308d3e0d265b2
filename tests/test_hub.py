"""Push and pull through the real huggingface_hub client against the loopback Hub in tests/hub_server.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganaug
from ganaug.errors import GanaugError
from ganaug.fileio import sha256_file
from ganaug.hub.transfer import pull, push_dataset

from .helpers import EXPORT_FILES, REPO, run_cli
from .hub_server import FakeHub, client_env, patch_client

pytest.importorskip("huggingface_hub")

ALICE, BOB = "hf_alice_secret_token", "hf_bob_secret_token"

# Runs in a fresh process: loads through the Hub (or the cache) and prints samples as JSON, torchvision-free.
LOAD = """
import json, sys, ganaug
g = ganaug.load_generator(sys.argv[1])
x = g.sample("square", n=3, seed=7)
print(json.dumps({"x": x.flatten().tolist(), "tv": "torchvision" in sys.modules}))
"""


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A loopback Hub with users alice and bob; this process acts as alice, with an empty cache."""
    server = FakeHub(tokens={ALICE: "alice", BOB: "bob"}).start()
    patch_client(monkeypatch, client_env(server, str(tmp_path / "hf-home"), token=ALICE))
    yield server
    server.stop()


def fresh_load(source: str, env: dict) -> torch.Tensor:
    """Load ``source`` in a new Python process with ``env`` (no inherited token) and return its samples."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    proc = subprocess.run([sys.executable, "-c", LOAD, source], capture_output=True, text=True, env=full, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["tv"] is False
    return torch.tensor(out["x"])


def local_samples(model) -> torch.Tensor:
    return ganaug.load_generator(model).sample("square", n=3, seed=7).flatten()


def scaled_export(run: Path, dest: Path, factor: float = 0.5) -> Path:
    """A copy of ``run``'s export whose weights are scaled (so its samples differ)."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(run / "export", dest)
    state = load_file(str(dest / "model.safetensors"))
    save_file(
        {k: v * factor if v.is_floating_point() else v for k, v in state.items()}, str(dest / "model.safetensors")
    )
    config = json.loads((dest / "config.json").read_text())
    config["sha256"] = {"model.safetensors": sha256_file(dest / "model.safetensors")}  # as an export records it
    (dest / "config.json").write_text(json.dumps(config))
    return dest


def test_push_then_fresh_process_then_offline(hub, tiny_run, tmp_path):
    url = ganaug.push_to_hub(tiny_run, "alice/tiny-cgan")
    assert url == f"{hub.url}/alice/tiny-cgan" and len(url.commit) == 40
    files = hub.files("alice/tiny-cgan")
    assert {"config.json", "model.safetensors", "README.md", "samples.png"} <= set(files)
    assert hub.repos[("model", "alice/tiny-cgan")].commits[url.commit]["model.safetensors"].lfs
    assert 'load_generator("hf-hub:alice/tiny-cgan")' in files["README.md"].decode()
    expected = local_samples(tiny_run)

    env = client_env(hub, str(tmp_path / "fresh-home"))  # anonymous, empty cache
    assert torch.allclose(fresh_load("hf-hub:alice/tiny-cgan", env), expected, atol=1e-6)
    snapshot = next((tmp_path / "fresh-home" / "hub" / "models--alice--tiny-cgan" / "snapshots").iterdir())
    loading = ["config.json", "model.safetensors", "teacher.json", "teacher.safetensors"]
    assert sorted(p.name for p in snapshot.iterdir()) == loading  # only what loading needs (generator and teacher)

    before = len(hub.requests)
    offline = client_env(hub, str(tmp_path / "fresh-home"), offline=True)
    assert torch.allclose(fresh_load("hf-hub:alice/tiny-cgan", offline), expected, atol=1e-6)
    assert len(hub.requests) == before  # served from the cache, no request reached the Hub


def test_pinned_revision_returns_old_weights_after_main_changed(hub, tiny_run, tmp_path):
    first = ganaug.push_to_hub(tiny_run, "alice/pinned")
    second = ganaug.push_to_hub(scaled_export(tiny_run, tmp_path / "v2"), "alice/pinned", commit_message="v2")
    assert first.commit != second.commit and hub.repos[("model", "alice/pinned")].branches["main"] == second.commit
    old, new = local_samples(tiny_run), local_samples(tmp_path / "v2")
    assert not torch.allclose(old, new)
    env = client_env(hub, str(tmp_path / "pin-home"))
    assert torch.allclose(fresh_load(f"hf-hub:alice/pinned@{first.commit}", env), old, atol=1e-6)
    assert torch.allclose(fresh_load("hf-hub:alice/pinned", env), new, atol=1e-6)
    assert torch.allclose(local_samples(f"hf-hub:alice/pinned@{first.commit}"), old, atol=1e-6)


def test_branch_push_private_repo_and_tokens(hub, tiny_run, monkeypatch, tmp_path):
    url = ganaug.push_to_hub(tiny_run, "alice/secret", private=True, revision="v1")
    assert url.endswith("/alice/secret/tree/v1") and url.revision == "v1"
    repo = hub.repos[("model", "alice/secret")]
    assert repo.private and set(hub.files("alice/secret", "main")) == {".gitattributes"}
    assert torch.allclose(local_samples("hf-hub:alice/secret@v1"), local_samples(tiny_run), atol=1e-6)
    assert all(ALICE not in text for _, text, _ in hub.requests)  # the token travels in a header only

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))  # the cache would answer otherwise
    monkeypatch.setenv("HF_TOKEN", BOB)  # a valid token without access: the Hub answers 404
    with pytest.raises(GanaugError, match="404"):
        ganaug.load_generator("hf-hub:alice/secret@v1")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(GanaugError, match="401.*private.*no token was given; set HF_TOKEN"):
        ganaug.load_generator("hf-hub:alice/secret@v1")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(GanaugError, match="refused the token"):
        ganaug.load_generator("hf-hub:alice/secret@v1")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("hf-hub:alice/missing", "alice/missing was not found.*404.*does not exist"),
        ("hf-hub:alice/exists@nope", "revision 'nope' does not exist in hf-hub:alice/exists"),
        ("hf-hub:alice/noconfig", "not a ganaug export: it has no config.json"),
        ("hf-hub:alice/pickles", r"only pickled weights \(pytorch_model.bin\).*safetensors only"),
        ("hf-hub:alice/noweights", "holds no .safetensors weights"),
        ("hf-hub:not a repo", "invalid Hub repo id"),
        ("hf-hub:alice/a/b", "invalid Hub repo id"),
        ("hf-hub:alice/..", "invalid Hub repo id"),
        ("hf-hub:alice/", "invalid Hub repo id"),
        ("hf-hub:alice/exists@", "invalid revision ''"),
        ("hf-hub:alice/exists", None),
    ],
)
def test_bad_hub_sources(hub, tiny_run, source, message):
    export = tiny_run / "export"
    hub.create("alice/exists", {p.name: p.read_bytes() for p in export.iterdir()})
    hub.create("alice/noconfig", {"model.safetensors": (export / "model.safetensors").read_bytes()})
    hub.create("alice/pickles", {"config.json": b"{}", "pytorch_model.bin": b"\x80\x04not-loaded"})
    hub.create("alice/noweights", {"config.json": (export / "config.json").read_bytes()})
    if message is None:
        assert ganaug.load_generator(source).num_classes == 3
        return
    with pytest.raises(GanaugError, match=message):
        ganaug.load_generator(source)
    assert not any(path.endswith(".bin") for _, path, _ in hub.requests)  # pickles are never downloaded


def test_weights_that_do_not_match_config(hub, tiny_run, tiny_gray_run):
    files = {"config.json": (tiny_run / "export" / "config.json").read_bytes()}
    files["model.safetensors"] = (tiny_gray_run / "export" / "model.safetensors").read_bytes()
    hub.create("alice/swapped", files)
    with pytest.raises(GanaugError, match="model.safetensors does not match the SHA-256 recorded in"):
        ganaug.load_generator("hf-hub:alice/swapped")  # the recorded checksum finds it first
    config = json.loads(files["config.json"])
    del config["sha256"]  # an export from before checksums: the shapes are checked
    hub.create("alice/mismatch", {**files, "config.json": json.dumps(config).encode()})
    with pytest.raises(GanaugError, match="do not match"):
        ganaug.load_generator("hf-hub:alice/mismatch")


def test_offline_with_empty_cache(hub, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(GanaugError, match="not in the local cache and HF_HUB_OFFLINE is set"):
        ganaug.load_generator("hf-hub:alice/anything")
    assert hub.requests == []


def test_unreachable_hub_with_empty_cache(hub, monkeypatch):
    hub.stop()
    with pytest.raises(GanaugError, match="not in the local cache and the Hub cannot be reached"):
        ganaug.load_generator("hf-hub:alice/anything")


def test_push_errors(hub, tiny_run, monkeypatch, tmp_path):
    with pytest.raises(GanaugError, match="invalid Hub repo id"):
        ganaug.push_to_hub(tiny_run, "not a repo")
    with pytest.raises(GanaugError, match="no write access"):
        ganaug.push_to_hub(tiny_run, "bob/not-yours")
    with pytest.raises(GanaugError, match="commit id"):
        ganaug.push_to_hub(tiny_run, "alice/x", revision="a" * 40)
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "config.json").write_text("{}")
    (tmp_path / "pickled" / "model.pt").write_bytes(b"x")
    with pytest.raises(GanaugError, match="only pickled weights"):
        ganaug.push_to_hub(tmp_path / "pickled", "alice/x")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(GanaugError, match="401"):
        ganaug.push_to_hub(tiny_run, "alice/anonymous")
    assert ("model", "alice/x") not in hub.repos


def test_pull_into_folder(hub, tiny_run, tmp_path):
    url = ganaug.push_to_hub(tiny_run, "alice/pull-me")
    out = pull(f"alice/pull-me@{url.commit}", out=tmp_path / "pulled")
    assert sorted(p.name for p in out.iterdir()) == EXPORT_FILES
    assert not any(p.is_symlink() for p in out.iterdir())
    assert torch.allclose(local_samples(out), local_samples(tiny_run), atol=1e-6)


def test_pull_says_when_the_hub_answered_with_a_server_error(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    hub.fail_with = 500
    with pytest.raises(GanaugError, match=r"the Hub answered 500 \(a server error: try again later\)"):
        pull("alice/anything", out=tmp_path / "pulled")
    assert not (tmp_path / "pulled").exists()


def test_registry_entry_checks_sha256(hub, tiny_run, tmp_path, monkeypatch):
    from ganaug.hub import pretrained

    url = ganaug.push_to_hub(tiny_run, "alice/registry-model")
    good = pretrained.build_entry(tiny_run / "export", "tiny-demo", published=True, repo_id=url.repo_id,
                                  revision=url.commit, description="a tiny test model")  # fmt: skip
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "tiny-demo.json").write_text(json.dumps(good.to_dict()))
    bad = {**good.to_dict(), "name": "tiny-tampered", "sha256": "0" * 64}
    (registry / "tiny-tampered.json").write_text(json.dumps(bad))
    unpublished = {**good.to_dict(), "name": "tiny-unpublished", "published": False}
    (registry / "tiny-unpublished.json").write_text(json.dumps(unpublished))
    monkeypatch.setenv("GANAUG_REGISTRY", str(registry))
    assert torch.allclose(local_samples("tiny-demo"), local_samples(tiny_run), atol=1e-6)
    pulled = pull("tiny-demo", out=tmp_path / "pulled")  # a registry name pulls its published revision
    assert torch.allclose(local_samples(pulled), local_samples(tiny_run), atol=1e-6)
    with pytest.raises(GanaugError, match="'tiny-unpublished' is in the registry but not published on the Hub yet"):
        pull("tiny-unpublished")
    with pytest.raises(GanaugError, match="refusing hf-hub:alice/registry-model@.*sha256"):
        ganaug.load_generator("tiny-tampered")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-demo").mkdir()
    with pytest.raises(GanaugError, match="both a pretrained registry name and a local path"):
        ganaug.load_generator("tiny-demo")


def test_cli_push_pull_list(hub, tiny_run, tmp_path, monkeypatch):
    env = client_env(hub, str(tmp_path / "cli-home"))  # no HF_TOKEN: the token comes from --token
    monkeypatch.delenv("HF_TOKEN")
    pushed = run_cli("push", str(tiny_run), "alice/cli-model", "--revision", "v1", "--token", ALICE, env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip().splitlines()[-1] == f"{hub.url}/alice/cli-model/tree/v1"
    assert ALICE not in pushed.stdout + pushed.stderr
    denied = run_cli("push", str(tiny_run), "bob/cli-model", "--token", ALICE, env=env)
    assert denied.returncode == 1 and "no write access" in denied.stderr and "Traceback" not in denied.stderr
    assert ALICE not in denied.stdout + denied.stderr

    pulled = run_cli("pull", "hf-hub:alice/cli-model@v1", "--out", str(tmp_path / "out"), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert Path(pulled.stdout.strip().splitlines()[-1]) == tmp_path / "out"
    assert (tmp_path / "out" / "model.safetensors").is_file()
    missing = run_cli("pull", "alice/nothing-here", env=env)
    assert missing.returncode == 1 and "was not found" in missing.stderr

    info = run_cli("info", "hf-hub:alice/cli-model@v1", env=env)
    assert info.returncode == 0 and "circle" in info.stdout
    listed = run_cli("list", env=env)
    assert listed.returncode == 0 and "not published yet" in listed.stdout


def test_push_dataset(hub, tmp_path):
    datasets = pytest.importorskip("datasets")
    import numpy as np
    from PIL import Image

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=["a", "b"]),
            "is_synthetic": datasets.Value("bool"),
        }
    )
    images = [Image.fromarray(np.full((8, 8), 40 * i, np.uint8)) for i in range(4)]
    ds = datasets.Dataset.from_dict(
        {"image": images, "label": [0, 1, 0, 1], "is_synthetic": [False, True, False, True]}, features=features
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    url = push_dataset(tmp_path / "saved", "alice/synthetic", private=True)
    assert url == f"{hub.url}/datasets/alice/synthetic"
    files = hub.files("alice/synthetic", kind="dataset")
    card = files["README.md"].decode()
    assert "is_synthetic" in card and "class_label" in card and "path: data/train-*" in card
    parquet = tmp_path / "train.parquet"
    parquet.write_bytes(files["data/train-00000-of-00001.parquet"])
    back = datasets.Dataset.from_parquet(str(parquet))
    assert back.features["label"].names == ["a", "b"] and back["is_synthetic"] == [False, True, False, True]
    with pytest.raises(GanaugError, match="cannot load the saved dataset"):
        push_dataset(tmp_path / "nothing", "alice/other")

    env = client_env(hub, str(tmp_path / "ds-home"), token=ALICE)  # `ganaug fit hf:` reads it back through datasets
    resolved = run_cli("fit", "hf:alice/synthetic", "--dry-run", env=env)
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    data = json.loads(resolved.stdout)["data"]
    assert data["class_names"] == ["a", "b"] and data["class_counts"] == [2, 2] and data["format"] == "hf"


def test_ganaugment_pipeline_from_hub(hub, tiny_run, tmp_path):
    if not hasattr(ganaug, "GANAugment") and "GANAugment" not in getattr(ganaug, "_LAZY", {}):
        pytest.skip("ganaug.GANAugment is not available yet")
    code = (
        "import sys, torch, ganaug\nfrom torchvision.transforms import v2\n"
        "t = v2.Compose([ganaug.GANAugment(sys.argv[1], p=1.0)])\n"
        "img = torch.zeros(3, 8, 8, dtype=torch.uint8)\nout, label = t(img, 1)\n"
        "assert label == 1 and out.dtype == torch.uint8 and out.shape == img.shape and out.any()\nprint('ok')\n"
    )
    ganaug.push_to_hub(tiny_run, "alice/augment")
    env = client_env(hub, str(tmp_path / "aug-home"))
    full = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    for extra in ({}, {"HF_HUB_OFFLINE": "1"}):
        proc = subprocess.run([sys.executable, "-c", code, "hf-hub:alice/augment"], capture_output=True, text=True,
                              env=full | extra, timeout=120, cwd=REPO)  # fmt: skip
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_push_any_export_folder(hub, tmp_path):
    """A non-cgan export (e.g. a CycleGAN's two weight files) is uploaded as it is, its own card untouched."""
    from safetensors.torch import save_file

    export = tmp_path / "cyclegan-export"
    export.mkdir()
    (export / "config.json").write_text(
        json.dumps({"task": "cyclegan", "weights": ["a2b.safetensors", "b2a.safetensors"]})
    )
    for name in ("a2b", "b2a"):
        save_file({"w": torch.ones(2)}, str(export / f"{name}.safetensors"))
    (export / "README.md").write_text("---\nlibrary_name: ganaug\n---\n# a translator\n")
    (export / "notes.pt").write_bytes(b"never uploaded")
    url = ganaug.push_to_hub(export, "alice/translator")
    files = hub.files("alice/translator")
    assert set(files) == {".gitattributes", "config.json", "a2b.safetensors", "b2a.safetensors", "README.md"}
    assert files["README.md"] == (export / "README.md").read_bytes()
    folder = pull(f"alice/translator@{url.commit}")
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "a2b.safetensors",
        "b2a.safetensors",
        "config.json",
    ]


def test_generate_hf_push_cli(hub, tiny_run, tmp_path):
    pytest.importorskip("datasets")
    env = client_env(hub, str(tmp_path / "gen-home"), token=ALICE)
    out = tmp_path / "synthetic"
    proc = run_cli("generate", str(tiny_run), "--per-class", "2", "--out", str(out), "--format", "hf",
                   "--push", "alice/gen", "--quiet", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{hub.url}/datasets/alice/gen" in proc.stdout and ALICE not in proc.stdout + proc.stderr
    assert "data/train-00000-of-00001.parquet" in hub.files("alice/gen", kind="dataset")
    bad = run_cli("generate", str(tiny_run), "--per-class", "1", "--out", str(tmp_path / "f"), "--push", "alice/x")
    assert bad.returncode == 1 and "use it with --format hf" in bad.stderr
