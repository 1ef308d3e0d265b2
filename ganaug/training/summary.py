"""What an export records of its training: the ``config.json`` dict both tasks write, and the device it ran on."""

from __future__ import annotations

import copy
import time

import torch

from .._version import __version__
from ..config import FitConfig


def device_name(device: torch.device) -> str:
    """The accelerator's name, or ``CPU (N threads)``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def export_config(
    resolved: dict, cfg: FitConfig, fields: tuple[str, ...], info: dict, metrics: dict | None = None, **blocks
) -> dict:
    """The export's ``config.json``: enough to rebuild the network, plus the training summary.

    ``fields`` are the options the summary repeats, ``info`` what the session measured; ``blocks`` are the task's
    own top-level entries. The InfoGAN codes and the model card text come from ``resolved`` when it has them.
    """
    training = {k: v for k, v in cfg.to_dict().items() if k in fields}
    if cfg.info_codes:
        training["info_weight"] = cfg.info_weight
    if cfg.arch == "progan":
        training["progan_drift"] = max(0.0, cfg.progan_drift)
    training.update(info)
    training["command"] = resolved["command"]
    return {
        "ganaug_version": __version__,
        "task": cfg.task,
        "arch": cfg.arch,
        "arch_args": copy.deepcopy(resolved["arch_args"]),
        "data": resolved["data"],
        **blocks,
        "training": training,
        "metrics": metrics or {},
        **_codes_block(resolved["arch_args"]),
        **({"card": copy.deepcopy(resolved["card"])} if resolved.get("card") else {}),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _codes_block(arch_args: dict) -> dict:
    """``{"codes": [...]}``: the InfoGAN codes of the network (names, kinds, sizes, ranges), or nothing."""
    from ..models.info import parse_codes

    specs = parse_codes(arch_args.get("info_codes", ""))
    return {"codes": [s.describe() for s in specs]} if specs else {}
