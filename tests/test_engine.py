"""The engine on CPU: bf16 where the CPU has it natively, fp16 refused; crash stacks; a process group ended whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import torch

from ganaug.downstream.classifier import SmallResNet, train_classifier
from ganaug.errors import GanaugError
from ganaug.training import engine as engine_mod
from ganaug.training.engine import create_engine


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_cpu_follows_native_bf16(monkeypatch, native):
    monkeypatch.setattr(engine_mod, "cpu_has_bf16", lambda: native)
    eng = create_engine("cpu", "auto")
    assert eng.precision == ("bf16" if native else "fp32") and eng.channels_last
    with eng.autocast():
        out = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == (torch.bfloat16 if native else torch.float32)


def test_fp16_on_cpu_is_refused_with_what_works():
    with pytest.raises(GanaugError, match="fp16 needs CUDA; on the CPU use --precision bf16 or fp32"):
        create_engine("cpu", "fp16")
    assert create_engine("cpu", "bf16").precision == "bf16"


def test_cpu_has_bf16_reads_the_cpu_flags():
    flags = open("/proc/cpuinfo").read() if __import__("os").path.exists("/proc/cpuinfo") else ""
    assert engine_mod.cpu_has_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_classifier_learns_in_either_precision(precision):
    torch.manual_seed(0)
    y = torch.arange(64) % 2
    x = torch.randn(64, 1, 8, 8) * 0.3
    x[y == 1, :, :4] += 1.0  # class 1 is bright in its top half
    net = train_classifier(SmallResNet(1, 2, 8, 8), x, y, steps=60, precision=precision)
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).float().mean()
    assert acc > 0.9
    with pytest.raises(ValueError, match="choose auto, fp32 or bf16"):
        train_classifier(SmallResNet(1, 2, 8, 8), x, y, steps=1, precision="fp8")


def test_watch_crashes_prints_the_stack_of_a_native_abort():
    """What a torchrun rank does before joining the group: an abort in native code shows where Python was."""
    code = "from ganaug.training.engine import watch_crashes\nwatch_crashes()\nimport os\n\n"
    code += "def end():\n    os.abort()\n\nend()\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -signal.SIGABRT
    assert "Fatal Python error: Aborted" in proc.stderr and "in end" in proc.stderr


RANK_SCRIPT = """
import os
import sys
import torch
import torch.distributed as dist
from ganaug.training.engine import create_engine


def threads():
    names = []
    for t in os.listdir("/proc/self/task"):
        try:
            names.append(open(f"/proc/self/task/{t}/comm").read().strip())
        except OSError:
            pass
    return ",".join(sorted(names))


dist.init_process_group("gloo")  # a caller's own group: the engine uses it and leaves it open
create_engine("cpu", "fp32", channels_last=False).close()
print("caller's group kept", dist.is_initialized(), flush=True)
dist.destroy_process_group()
os.environ["MASTER_PORT"] = sys.argv[1]
engine = create_engine("cpu", "fp32", channels_last=False)
net = torch.nn.Linear(4, 1)
net(torch.full((2, 4), float(engine.rank))).sum().backward()
engine.all_reduce_grads(net)
engine.barrier()
print("open", threads(), flush=True)
engine.close()
print("closed", threads(), net.weight.grad.tolist(), flush=True)
"""


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all held open while they are chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def test_close_ends_its_own_group_and_its_threads_before_the_interpreter_exits(tmp_path):
    """A rank that reaches interpreter exit with gloo's worker threads alive can abort ("terminate called without an
    active exception": a thread frees a finished collective's tensors while Python finalizes); close() must end them.
    A group the caller started stays open."""
    first, second = _free_ports(2)
    env = {**os.environ, "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(first)}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-c", RANK_SCRIPT, str(second)]
    procs = [
        subprocess.Popen(cmd, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        for r in range(2)
    ]  # fmt: skip
    try:
        results = [proc.communicate(timeout=240) + (proc.returncode,) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()  # a rank left waiting for a dead peer does not outlive the test
    for out, err, returncode in results:
        assert returncode == 0, err[-4000:]
        kept, opened, closed = out.strip().splitlines()
        assert kept == "caller's group kept True"
        opened, closed = opened.split(" ", 2), closed.split(" ", 2)
        assert "gloo" in opened[1]  # the group's threads are visible while it is open
        assert "gloo" not in closed[1], closed[1]
        assert closed[2] == "[[1.0, 1.0, 1.0, 1.0]]"  # gradients 0 and 2 averaged: the group really ran
