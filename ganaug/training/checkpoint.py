"""Checkpoints: every tensor in one safetensors file, everything else in JSON, each written atomically.

A checkpoint is a folder ``checkpoints/step-NNNNNNN/`` holding ``state.safetensors`` and ``state.json``;
it is written under a temporary name and renamed into place, then ``checkpoints/latest.json`` is
replaced to point at it. A kill at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import torch
from torch import nn

from ..errors import GanaugError
from ..fileio import load_tensors, read_json, save_tensors, sha256_file, write_json

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"


def module_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load network ``prefix``'s tensors of a checkpoint; a layout that differs (a checkpoint written by a version of
    ganaug whose network had other layers) is a clear error naming the tensors, not a half-loaded network."""
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or extra or shapes:
        shown = [f"missing {missing[:3]}"] * bool(missing) + [f"not in this network {extra[:3]}"] * bool(extra)
        shown += [f"of another shape {shapes[:3]}"] * bool(shapes)
        raise GanaugError(
            f"the checkpoint's {prefix} does not match this version's network ({'; '.join(shown)}): it was written "
            "by a ganaug whose network had other layers; resume it with that version, or start a new fit "
            "(--init-from RUN copies every tensor that fits)"
        )
    module.load_state_dict(state, strict=True)


def optimizer_state(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state into tensors (for safetensors) and JSON (param groups, plain numbers)."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            pid, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(pid), {})[name] = value
    for pid, extra in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(extra)
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_tensors(generators: dict[str, torch.Generator]) -> dict[str, torch.Tensor]:
    out = {f"rng.{name}": g.get_state() for name, g in generators.items()}
    out["rng.torch_global"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = state
    return out


def load_rng(generators: dict[str, torch.Generator], tensors: dict[str, torch.Tensor]) -> None:
    for name, g in generators.items():
        g.set_state(tensors[f"rng.{name}"])
    torch.set_rng_state(tensors["rng.torch_global"])
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])


def save_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict, keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically, point ``latest.json`` at it, and prune all but the newest ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_tensors(tmp / STATE_TENSORS, tensors, metadata={"format": "pt", "step": str(step)})
    write_json(tmp / STATE_JSON, {**meta, "step": step, "sha256": {STATE_TENSORS: sha256_file(tmp / STATE_TENSORS)}})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_json(root / "latest.json", {"step": step, "path": final.name})
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder (``latest.json`` if intact, else the newest whole folder)."""
    root = Path(run_dir) / "checkpoints"
    try:
        path = root / read_json(root / "latest.json")["path"]
        if (path / STATE_TENSORS).exists() and (path / STATE_JSON).exists():
            return path
    except (OSError, ValueError, KeyError):
        pass
    whole = [p for p in sorted(root.glob("step-*")) if (p / STATE_TENSORS).exists() and (p / STATE_JSON).exists()]
    return whole[-1] if whole else None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """A checkpoint's tensors and JSON, its tensors checked against their recorded SHA-256 first."""
    try:
        meta = read_json(path / STATE_JSON)
        return load_tensors(
            path / STATE_TENSORS, (meta.get("sha256") or {}).get(STATE_TENSORS), path / STATE_JSON
        ), meta
    except Exception as exc:  # a damaged file: say which
        raise GanaugError(f"checkpoint {path} cannot be read ({exc}); delete it to resume from an older one") from exc


def load_newest_whole(run_dir: Path, warn=print) -> tuple[Path, dict[str, torch.Tensor], dict] | None:
    """The newest checkpoint that reads back whole (its checksum matches), newest first; a damaged one is skipped
    with a note saying so. None when the run has no checkpoint; an error when every one is damaged."""
    newest = latest_checkpoint(run_dir)
    if newest is None:
        return None
    root = Path(run_dir) / "checkpoints"
    older = [p for p in sorted(root.glob("step-*"), reverse=True) if p.is_dir() and p.name < newest.name]
    damaged = []
    for path in [newest, *older]:
        try:
            tensors, meta = load_checkpoint(path)
        except GanaugError as exc:
            damaged.append(path.name)
            warn(f"note: {exc.__cause__ or exc}; trying the checkpoint before it")
            continue
        if damaged:
            warn(f"note: resuming from {path.name}, not the damaged {', '.join(damaged)}")
        return path, tensors, meta
    raise GanaugError(f"every checkpoint of {run_dir} is damaged ({', '.join(damaged)}); the run has to start over")


def note_interrupt(run_dir: Path | None, step: int) -> None:
    """Say on stderr what Ctrl-C during a fit leaves, and the command that continues it."""
    good = latest_checkpoint(run_dir) if run_dir is not None else None
    if good is None:
        note = f"interrupted at step {step}; no checkpoint was written yet, so the run starts over if fitted again"
    else:
        resume = f"continue with: ganaug fit --resume {run_dir}"
        note = f"interrupted at step {step}; the last checkpoint is {good.name}; {resume}"
    print(note, file=sys.stderr)
