"""The engine: device, precision, memory format and torch.distributed, in a few calls around a plain loop.

The same command runs as one process or under ``torchrun``; with several processes every rank computes
gradients on its own share of the batch, gradients are averaged with one all-reduce per network (the
way StyleGAN2-ADA does it, which keeps GAN phases and penalties free of DDP's hooks), and rank 0 writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from ..errors import GanaugError


@dataclass
class Engine:
    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False
    rank: int = 0
    world_size: int = 1
    owns_group: bool = False  # the engine started the process group (not a caller's script), so it ends it
    scalers: dict = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def scaler(self, name: str) -> torch.amp.GradScaler | None:
        """A grad scaler per optimizer, for fp16 only."""
        if self.precision != "fp16":
            return None
        if name not in self.scalers:
            self.scalers[name] = torch.amp.GradScaler(self.device.type)
        return self.scalers[name]

    def prepare(self, module: nn.Module) -> nn.Module:
        module = module.to(self.device)
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)
        if self.distributed:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)
        return module

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def all_reduce_grads(self, module: nn.Module) -> None:
        """Average gradients over ranks with one flat all-reduce."""
        if not self.distributed:
            return
        params = [p for p in module.parameters() if p.grad is not None]
        if not params:
            return
        flat = torch.cat([p.grad.flatten() for p in params]) / self.world_size
        dist.all_reduce(flat)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            values = values.clone()
            dist.all_reduce(values)
        return values

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        """End the process group this engine started: destroying it joins gloo's worker threads, which must not
        outlive the interpreter (one that frees a collective's tensors while Python finalizes aborts the process)."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX on x86 Linux): there, bf16 autocast with
    channels-last convolutions trains the default networks about 3x faster than fp32 (benchmarks/fit_throughput.py);
    elsewhere bf16 is emulated and slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device_type: str) -> str:
    """``auto``: bf16 on CUDA that has it (else fp16), bf16 on a CPU with native bf16, else fp32."""
    if precision != "auto":
        return precision
    if device_type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_bf16() else "fp32"


def planned_engine(device: str = "auto", precision: str = "auto") -> dict:
    """What :func:`create_engine` will pick, without starting anything (for ``--dry-run``)."""
    kind = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    return {"device": kind, "precision": resolve_precision(precision, kind),
            "processes": int(os.environ.get("WORLD_SIZE", "1"))}  # fmt: skip


def watch_crashes() -> None:
    """A rank that dies in native code (SIGABRT, SIGSEGV) prints every thread's Python stack to stderr first, so a
    torchrun fit that loses a rank says where it was; torchrun reports only the exit code."""
    import faulthandler

    if not faulthandler.is_enabled():
        faulthandler.enable()


def launched_rank() -> int:
    """This process's rank when launched by torchrun (0 otherwise): only rank 0 writes and prints."""
    return int(os.environ.get("RANK", "0"))


def create_engine(device: str = "auto", precision: str = "auto", channels_last: bool = True) -> Engine:
    """Pick the device and precision; join the process group when launched by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = launched_rank()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise GanaugError("--device cuda was asked for but CUDA is not available; use --device cpu or auto")
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    elif device == "cpu":
        dev = torch.device("cpu")
    else:
        raise GanaugError(f"device {device!r} is not accepted; choose auto, cpu or cuda")
    precision = resolve_precision(precision, dev.type)
    if precision == "fp16" and dev.type != "cuda":
        raise GanaugError("precision fp16 needs CUDA; on the CPU use --precision bf16 or fp32 (or auto)")
    owns_group = world_size > 1 and not dist.is_initialized()
    if owns_group:
        watch_crashes()
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Engine(
        device=dev,
        precision=precision,
        channels_last=channels_last,
        rank=rank,
        world_size=world_size,
        owns_group=owns_group,
    )
