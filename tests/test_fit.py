"""ganaug.fit end to end on tiny data: run folder, export, exact resume, non-finite stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganaug
from ganaug.errors import GanaugError
from ganaug.training.trainer import NonFiniteLossError

from .helpers import EXPORT_FILES, TINY, run_cli, write_class_folder


@pytest.fixture()
def folder(tmp_path):
    return write_class_folder(tmp_path / "data", {"cat": 12, "dog": 4, "eel": 6})


def test_fit_writes_run_folder_and_export(folder, tmp_path):
    run = ganaug.fit(
        folder,
        **{**TINY, "teacher_epochs": 1},
        steps=6,
        sample_every=3,
        checkpoint_every=3,
        log_every=1,
        out=tmp_path / "runs",
        name="r",
        progress=False,
    )
    p = run.path
    assert p == tmp_path / "runs" / "r" and run.steps_done == 6
    resolved = json.loads((p / "fit_config.json").read_text())
    assert resolved["fit"]["resolution"] == "8x8" and resolved["fit"]["loss"] == "bce"
    assert resolved["data"]["class_names"] == ["cat", "dog", "eel"]
    log = [json.loads(line) for line in (p / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert all(set(r) >= {"loss_d", "loss_g", "augment_p", "images_per_s"} for r in log)
    for name in ("samples/step-0000003.png", "samples/step-0000006.png", "loss_curve.png", "checkpoints/latest.json"):
        assert (p / name).is_file(), name
    export = p / "export"
    assert sorted(x.name for x in export.iterdir()) == EXPORT_FILES
    config = json.loads((export / "config.json").read_text())
    assert config["arch"] == "dcgan" and config["task"] == "cgan" and config["training"]["steps_done"] == 6
    card = (export / "README.md").read_text()
    assert "library_name: ganaug" in card and "| 1 | `dog` | 4 |" in card and "More Information Needed" not in card
    g = ganaug.load_generator(p)
    x = g.sample("dog", n=5, seed=1)
    assert x.shape == (5, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, g.sample(1, n=5, seed=1))
    data = g.to_data(x)
    assert data.dtype.name == "uint8" and data.shape == (5, 8, 8, 1)
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        g.sample("fox", n=1)


def _final_g(run_path):
    ckpt = run_path / "checkpoints" / json.loads((run_path / "checkpoints" / "latest.json").read_text())["path"]
    return load_file(str(ckpt / "state.safetensors"))


@pytest.mark.parametrize("arch", ["biggan", "dcgan"])
def test_resume_reaches_the_same_weights(folder, tmp_path, arch):
    opts = dict(TINY, arch=arch, steps=8, checkpoint_every=4, sample_every=100, augment_p=0.5, out=tmp_path / "runs")
    whole = ganaug.fit(folder, **opts, name="whole", progress=False)
    half = ganaug.fit(folder, **{**opts, "steps": 4}, name="half", progress=False)
    assert half.steps_done == 4
    resumed = ganaug.fit(resume=half.path, steps=8, progress=False)
    assert resumed.steps_done == 8 and resumed.path == half.path
    a, b = _final_g(whole.path), _final_g(resumed.path)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    wa = load_file(str(whole.export / "model.safetensors"))
    wb = load_file(str(resumed.export / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    steps = [json.loads(line)["step"] for line in (half.path / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 8


def _damage(path) -> None:
    """Zero 64 bytes in the middle of a file, as a bad disk block would."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def test_a_damaged_checkpoint_is_found_and_resume_falls_back_to_the_one_before(folder, tmp_path, capsys):
    opts = dict(TINY, steps=6, checkpoint_every=2, keep_checkpoints=3, out=tmp_path, progress=False)
    whole = ganaug.fit(folder, **opts, name="whole")
    run = ganaug.fit(folder, **{**opts, "steps": 4}, name="r")
    ckpts = sorted((run.path / "checkpoints").glob("step-*"))
    assert [p.name for p in ckpts] == ["step-0000002", "step-0000004"]
    assert json.loads((ckpts[-1] / "state.json").read_text())["sha256"]["state.safetensors"]
    _damage(ckpts[-1] / "state.safetensors")
    resumed = ganaug.fit(resume=run.path, steps=6, progress=False)
    out = capsys.readouterr().out
    assert "does not match the SHA-256" in out and "resuming from step-0000002, not the damaged step-0000004" in out
    a, b = load_file(str(whole.export / "model.safetensors")), load_file(str(resumed.export / "model.safetensors"))
    assert resumed.steps_done == 6 and all(torch.equal(a[k], b[k]) for k in a)  # still bit-exact, from step 2
    for ckpt in sorted((run.path / "checkpoints").glob("step-*")):
        _damage(ckpt / "state.safetensors")
    with pytest.raises(GanaugError, match="every checkpoint of .* is damaged"):
        ganaug.fit(resume=run.path, steps=8, progress=False)


def test_a_damaged_export_or_teacher_is_refused_at_load(folder, tmp_path):
    run = ganaug.fit(folder, **{**TINY, "teacher_epochs": 1}, steps=2, out=tmp_path, progress=False)
    config = json.loads((run.export / "config.json").read_text())
    assert len(config["sha256"]["model.safetensors"]) == 64
    ganaug.load_generator(run.export)  # whole: loads
    from ganaug.downstream.teacher import Teacher

    assert Teacher.load(run.export) is not None
    _damage(run.export / "teacher.safetensors")
    with pytest.raises(GanaugError, match="teacher .* cannot be read .*does not match the SHA-256"):
        Teacher.load(run.export)
    _damage(run.export / "model.safetensors")
    with pytest.raises(GanaugError, match=r"model.safetensors does not match the SHA-256 recorded in .*config.json"):
        ganaug.load_generator(run.export)


def test_a_config_asking_for_a_huge_or_unknown_network_is_refused_before_allocating(folder, tmp_path):
    run = ganaug.fit(folder, **TINY, steps=1, out=tmp_path, progress=False)
    path = run.export / "config.json"
    config = json.loads(path.read_text())
    huge = {**config, "arch_args": {**config["arch_args"], "ch": 4096, "height": 1024, "width": 1024}}
    path.write_text(json.dumps(huge))
    with pytest.raises(
        GanaugError, match=r"do not match .*config.json \(arch 'dcgan', [\d,]{14,} parameters as configured"
    ):
        ganaug.load_generator(run.export)  # refused from the file's header: nothing of that size was allocated
    path.write_text(json.dumps({**config, "arch_args": {**config["arch_args"], "colour": 1}}))
    with pytest.raises(GanaugError, match=r"describes a network that cannot be built \(arch 'dcgan'\).*colour"):
        ganaug.load_generator(run.export)


def test_sample_grids_name_their_rows(tmp_path):
    import numpy as np
    from PIL import Image

    from ganaug.generation.grid import save_grid

    plain = np.asarray(Image.open(save_grid(torch.ones(16, 1, 8, 8), 8, tmp_path / "plain.png")))
    labelled = np.asarray(Image.open(save_grid(torch.ones(16, 1, 8, 8), 8, tmp_path / "rows.png",
                                               row_labels=["benign", "malignant"])))  # fmt: skip
    margin = labelled.shape[1] - plain.shape[1]
    assert margin > 20 and labelled.shape[0] == plain.shape[0]
    assert np.array_equal(labelled[:, margin:], plain)  # the grid itself is unchanged
    half = plain.shape[0] // 2
    assert (labelled[:half, :margin] < 128).any() and (labelled[half:, :margin] < 128).any()  # a label in each row


def test_resume_refuses_changed_options(folder, tmp_path):
    run = ganaug.fit(folder, **TINY, steps=2, out=tmp_path / "runs", progress=False)
    with pytest.raises(GanaugError, match="cannot change"):
        ganaug.fit(resume=run.path, lr_g=0.1, progress=False)


def test_non_finite_loss_stops_and_keeps_checkpoint(folder, tmp_path):
    opts = dict(TINY, optimizer="sgd", lr_d=1e30, lr_g=1e30, steps=50, checkpoint_every=1, out=tmp_path / "runs")
    with pytest.raises(NonFiniteLossError, match=r"non-finite at step \d+") as err:
        ganaug.fit(folder, **opts, name="nan", progress=False)
    run = tmp_path / "runs" / "nan"
    assert "last good checkpoint" in str(err.value) or "no checkpoint" in str(err.value)
    for ckpt in (run / "checkpoints").glob("step-*"):
        state = load_file(str(ckpt / "state.safetensors"))
        assert all(torch.isfinite(v).all() for k, v in state.items() if v.is_floating_point()), ckpt
    assert not (run / "export").exists()


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [("arch", "resnet9000", "known: biggan, dcgan, mlp"), ("loss", "nope", "known: bce"), ("preset", "x", "natural")],
)
def test_unknown_names_list_known_ones(folder, tmp_path, option, value, match):
    with pytest.raises(GanaugError, match=match):
        ganaug.fit(folder, **{**TINY, option: value}, steps=1, out=tmp_path / "runs", progress=False)


def test_unwritable_output_folder(folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(GanaugError, match="not writable"):
        ganaug.fit(folder, **TINY, steps=1, out=blocker / "runs", progress=False)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file-size limits")
def test_a_full_disk_during_fit_ends_in_one_line_and_resume_starts_from_the_last_whole_checkpoint(folder, tmp_path):
    import resource
    import signal

    def full_disk() -> None:  # a checkpoint past 40 KB fails to write, as on a full disk (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    args = ["fit", str(folder), "--arch", "dcgan", "--ch", "16", "--batch-size", "8", "--latent-dim", "16",
            "--teacher-epochs", "0", "--steps", "4", "--out", str(tmp_path / "runs"), "--name", "r",
            "--quiet"]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.run([sys.executable, "-m", "ganaug", *args], capture_output=True, text=True, env=env,
                          timeout=300, preexec_fn=full_disk)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "File too large" in proc.stderr and "free some space or write elsewhere" in proc.stderr
    run = tmp_path / "runs" / "r"
    assert not list((run / "checkpoints").glob("step-*")) and not (run / "export").exists()  # nothing half written
    assert not [p for p in (run / "checkpoints").rglob("*.safetensors")]  # the failed temp file was removed
    resumed = ganaug.fit(resume=run, progress=False)  # with space again, the run starts over and finishes
    assert resumed.steps_done == 4 and (run / "export" / "model.safetensors").is_file()


def _read_only_mount(path: Path) -> bool:
    """Bind-mount ``path`` read-only over itself (root on Linux); False where the machine does not allow it."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    for args in (["mount", "--bind", str(path), str(path)], ["mount", "-o", "remount,bind,ro", str(path)]):
        if subprocess.run(args, capture_output=True).returncode != 0:
            subprocess.run(["umount", str(path)], capture_output=True)
            return False
    return True


def test_a_resume_on_a_read_only_mount_ends_in_one_line_and_changes_nothing(folder, tmp_path):
    run = ganaug.fit(folder, **TINY, steps=2, out=tmp_path, name="r", progress=False)
    before = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}
    if not _read_only_mount(run.path):
        pytest.skip("read-only bind mounts need root on Linux")
    try:
        proc = run_cli("fit", "--resume", str(run.path), "--steps", "4", "--quiet")
    finally:
        subprocess.run(["umount", str(run.path)], check=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "Read-only file system" in proc.stderr and str(run.path) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()} == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX advisory locks")
def test_a_run_that_still_trains_cannot_be_resumed_twice_and_a_dead_holder_frees_it(folder, tmp_path):
    run = ganaug.fit(folder, **TINY, steps=2, out=tmp_path, name="r", progress=False)
    holder = subprocess.Popen(  # another process that holds the run, as a training fit does
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from ganaug.training.lock import RunLock; "
         "RunLock.acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(600)", str(run.path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        log_before = (run.path / "log.jsonl").read_text()
        with pytest.raises(GanaugError, match=rf"run folder .* is in use: ganaug process {holder.pid} is training it"):
            ganaug.fit(resume=run.path, steps=4, progress=False)
        assert (run.path / "log.jsonl").read_text() == log_before  # nothing was touched
    finally:
        holder.kill()
        holder.wait()
    resumed = ganaug.fit(resume=run.path, steps=4, progress=False)  # the dead process's lock is taken over
    assert resumed.steps_done == 4
    again = ganaug.fit(resume=run.path, steps=5, progress=False)  # and released when a fit returns
    assert again.steps_done == 5


@pytest.mark.parametrize("loss", ["hinge", "lsgan", "wgan-gp", "wgan-clip", "bce"])
def test_every_loss_trains(folder, tmp_path, loss):
    run = ganaug.fit(folder, **TINY, loss=loss, steps=2, r1_gamma=1.0, out=tmp_path / "runs", progress=False)
    assert json.loads((run.export / "config.json").read_text())["training"]["loss"] == loss


@pytest.mark.parametrize(("opt", "decay"), [("rmsprop", "linear"), ("sgd", "cosine"), ("adam", "none")])
def test_optimizers_and_schedules(folder, tmp_path, opt, decay):
    run = ganaug.fit(
        folder, **TINY, optimizer=opt, lr_decay=decay, grad_clip=1.0, steps=3, out=tmp_path / "r", progress=False
    )
    assert run.steps_done == 3


def test_mlp_and_pixelshuffle(folder, tmp_path):
    for extra in ({"arch": "mlp"}, {"arch": "dcgan", "upsample": "pixelshuffle"}):
        run = ganaug.fit(folder, **{**TINY, **extra}, steps=2, out=tmp_path / "runs", progress=False)
        assert ganaug.load_generator(run.path).sample(0, 2).shape == (2, 1, 8, 8)
