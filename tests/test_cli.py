"""The ganaug command line, driven in fresh processes: fit, sample, info, dry run, kill + resume, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from .helpers import REPO, run_cli, write_class_folder

TINY_ARGS = ["--arch", "dcgan", "--ch", "8", "--batch-size", "8", "--latent-dim", "16", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = write_class_folder(root / "data", {"a": 6, "b": 6})
    proc = run_cli("fit", str(data), *TINY_ARGS, "--steps", "4", "--out", str(root / "runs"), "--name", "m")
    assert proc.returncode == 0, proc.stderr
    return root, Path(proc.stdout.strip().splitlines()[-1])


def test_fit_prints_run_folder_last(trained):
    root, run = trained
    assert run == root / "runs" / "m" and (run / "export" / "model.safetensors").is_file()
    card = (run / "export" / "README.md").read_text()
    assert "ganaug fit" in card and "--steps 4" in card


def test_sample_grid_and_folder(trained, tmp_path):
    _, run = trained
    proc = run_cli("sample", str(run), "--class", "b", "--n", "5", "--out", str(tmp_path / "g.png"), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "g.png").size[0] > 5 * 8
    proc = run_cli("sample", str(run / "export"), "--class", "0", "--n", "3", "--out", str(tmp_path / "files"))
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "files").iterdir())
    assert len(files) == 3 and all(Image.open(f).size == (8, 8) for f in files)


def test_info_model_and_registry(trained):
    _, run = trained
    proc = run_cli("info", str(run))
    assert proc.returncode == 0 and "classes (2)" in proc.stdout and "dcgan" in proc.stdout
    proc = run_cli("info")
    assert proc.returncode == 0
    for word in ("biggan", "dcgan", "mlp", "hinge", "wgan-gp", "wgan-clip", "lsgan", "bce", "natural", "medical"):
        assert word in proc.stdout


def test_fit_help_lists_registry_and_defaults():
    proc = run_cli("fit", "--help")
    assert proc.returncode == 0
    assert "Architectures: biggan, dcgan, mlp" in proc.stdout and "--checkpoint-every" in proc.stdout
    assert "[default: 5000]" in proc.stdout


def test_dry_run_prints_config_and_trains_nothing(tmp_path):
    data = write_class_folder(tmp_path / "data", {"a": 3, "b": 3})
    proc = run_cli("fit", str(data), "--dry-run", "--preset", "medical", "--out", str(tmp_path / "runs"))
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads(proc.stdout)
    assert resolved["fit"]["augment"] == "translation,cutout" and resolved["fit"]["loss"] == "hinge"
    assert resolved["fit"]["arch"] == "biggan" and not (tmp_path / "runs").exists()
    import torch

    from ganaug.training.engine import cpu_has_bf16

    plan = resolved["will_run_on"]
    assert plan["processes"] == 1 and plan["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert plan["device"] == "cuda" or plan["precision"] == ("bf16" if cpu_has_bf16() else "fp32")
    proc = run_cli("fit", str(data), "--dry-run", "--preset", "medical", "--augment", "color")
    assert json.loads(proc.stdout)["fit"]["augment"] == "color"


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl", ".bin"])
def test_pickle_model_is_refused(tmp_path, suffix):
    bad = tmp_path / f"model{suffix}"
    bad.write_bytes(b"\x80\x04not really")
    proc = run_cli("info", str(bad))
    assert proc.returncode == 1 and "safetensors only" in proc.stderr and "Traceback" not in proc.stderr


def test_config_that_does_not_match_weights(trained, tmp_path):
    _, run = trained
    export = tmp_path / "export"
    shutil.copytree(run / "export", export)
    config = json.loads((export / "config.json").read_text())
    config["arch_args"]["ch"] = 16
    (export / "config.json").write_text(json.dumps(config))
    proc = run_cli("info", str(export))
    assert proc.returncode == 1 and "do not match" in proc.stderr


def test_unknown_model_source(tmp_path):
    proc = run_cli("info", str(tmp_path / "nothing"))
    assert proc.returncode == 1 and "accepted MODEL forms" in proc.stderr


def _start_cli(args: list[str]) -> subprocess.Popen:
    """``python -m ganaug ARGS`` started in the background (text output piped), to be signalled by the test."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ganaug", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_interruptible,
    )  # fmt: skip


def _interruptible() -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background of a shell (``cmd &``) inherits SIGINT
    ignored, and Python then keeps ignoring it, so the fit would train on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_kill_then_resume(tmp_path):
    data = write_class_folder(tmp_path / "data", {"a": 6, "b": 6})
    run = tmp_path / "runs" / "k"
    args = ["fit", str(data), *TINY_ARGS, "--steps", "3000", "--checkpoint-every", "20", "--log-every", "1"]
    args += ["--sample-every", "1000", "--out", str(tmp_path / "runs"), "--name", "k"]
    proc = _start_cli(args)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((run / "checkpoints").glob("step-*"))) < 2:
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())["step"]
    assert latest >= 40 and not (run / "export").exists()
    proc = run_cli("fit", "--resume", str(run), "--steps", str(latest + 10), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss_d" in r] == list(range(1, latest + 11))  # training steps, once each
    assert json.loads((run / "export" / "config.json").read_text())["training"]["steps_done"] == latest + 10


def test_torchrun_two_processes_gloo(tmp_path):
    data = write_class_folder(tmp_path / "data", {"a": 6, "b": 6})
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "ganaug", "fit", str(data), *TINY_ARGS]
    cmd += ["--steps", "6", "--device", "cpu", "--out", str(tmp_path / "runs"), "--name", "ddp", "--log-every", "1"]
    env = {
        **os.environ,
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash shows its stack
        "TMPDIR": str(tmp_path),  # torchrun's own folders (torchelastic_*) stay in the test's folder
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-12000:]
    run = tmp_path / "runs" / "ddp"
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["training"]["processes"] == 2 and config["training"]["steps_done"] == 6
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["ddp"]  # rank 1 wrote nothing
    assert proc.stdout.count("model:") == 1 and proc.stdout.strip().splitlines()[-1] == str(run)  # nor printed


def test_ctrl_c_says_how_to_resume(tmp_path):
    data = write_class_folder(tmp_path / "data", {"a": 6, "b": 6})
    run = tmp_path / "runs" / "c"
    args = ["fit", str(data), *TINY_ARGS, "--steps", "3000", "--checkpoint-every", "10", "--teacher-epochs", "0"]
    args += ["--sample-every", "1000", "--out", str(tmp_path / "runs"), "--name", "c"]
    proc = _start_cli(args)
    deadline = time.time() + 180
    while time.time() < deadline and not list((run / "checkpoints").glob("step-*")) and proc.poll() is None:
        time.sleep(0.2)
    assert list((run / "checkpoints").glob("step-*")), "the fit wrote no checkpoint in 180 s"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # show where it hangs: the fault handler prints every thread's stack on SIGABRT
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"the fit did not stop within 120 s of Ctrl-C; its stacks:\n{err[-6000:]}")
    assert proc.returncode != 0 and not (run / "export").exists()
    assert "interrupted at step" in err and f"continue with: ganaug fit --resume {run}" in err


def test_progress_in_a_log_is_plain_lines(tmp_path):
    import io

    from ganaug.progress import LineProgress

    out = io.StringIO()
    with LineProgress("fit", out, every=0) as bar:
        task = bar.add_task("fit", total=4, completed=0, losses="")
        bar.update(task, completed=2, losses="D 0.5 G 1.0")
        bar.advance(task, 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("fit 2/4 50% elapsed 0:00:00 ETA ") and lines[0].endswith("D 0.5 G 1.0")
    assert lines[-1].startswith("fit 4/4 100%")
    data = write_class_folder(tmp_path / "data", {"a": 6, "b": 6})
    args = [a for a in TINY_ARGS if a != "--quiet"]
    proc = run_cli("fit", str(data), *args, "--steps", "3", "--teacher-epochs", "0", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0 and any(line.startswith("fit 3/3 100% elapsed") for line in proc.stdout.splitlines())


def test_card_command_does_not_publish_the_home_folder(tmp_path):
    home = tmp_path / "home" / "alice"
    data = write_class_folder(home / "data", {"a": 6, "b": 6})
    args = [*TINY_ARGS, "--steps", "2", "--teacher-epochs", "0", "--out", str(home / "runs"), "--name", "h"]
    proc = run_cli("fit", str(data), *args, env={"HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    command = json.loads((home / "runs" / "h" / "export" / "config.json").read_text())["training"]["command"]
    assert "~/data" in command and str(home) not in command
    assert str(home) not in (home / "runs" / "h" / "export" / "README.md").read_text()
