"""``--init-from RUN``: a new class-conditional run starts from the weights of another run (transfer).

A generator fitted on a few dozen images has to learn edges, textures and shapes from those images alone. Started
from a run on a larger set of the same size and channels, it starts from networks that have learned them. Before the
first step, ``--init-from`` copies the networks of RUN's newest checkpoint (G, D and the EMA generator) into the new
run; the optimizers, the augmentation strength and the random streams start fresh, and the data, classes, teacher and
budget are the new run's own. The class embeddings are copied only when both runs have the same class names: other
classes start from fresh embeddings and are learned from the new data. A resumed run continues from its own
checkpoint and does not read RUN again.

Example:
    >>> mismatched_args({"ch": 32, "height": 28, "num_classes": 10}, {"ch": 64, "height": 28, "num_classes": 2})
    ['ch: 32 there, 64 here']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..errors import GanaugError
from ..fileio import read_json

MUST_MATCH = ("latent_dim", "channels", "height", "width", "ch", "upsample", "info_codes")  # the networks' shapes


def mismatched_args(there: dict, here: dict) -> list[str]:
    """The network arguments (other than the class count) in which two runs differ, as ``name: a there, b here``."""
    return [
        f"{key}: {there.get(key)} there, {here.get(key)} here" for key in MUST_MATCH if there.get(key) != here.get(key)
    ]


@dataclass
class InitSource:
    """The run a new run starts from: its folder, newest checkpoint and what it was fitted on."""

    run: Path
    checkpoint: Path
    step: int
    data_source: str
    class_names: list[str]

    def record(self) -> dict:
        """What the new run's ``fit_config.json`` and export record of it."""
        return {"run": str(self.run), "step": self.step, "data": self.data_source, "classes": self.class_names}

    def note(self, class_names: list[str]) -> str:
        classes = "its class embeddings too" if class_names == self.class_names else (
            f"fresh class embeddings (its classes {', '.join(self.class_names)} are not this data's)"
        )  # fmt: skip
        return (
            f"the networks start from {self.run} (step {self.step}, fitted on {self.data_source}), with {classes}; "
            "optimizers and augmentation start fresh"
        )


def find_source(path: str | Path, arch: str, arch_args: dict) -> InitSource:
    """RUN checked against the new run: a ganaug run folder of the same architecture and network size, with a
    checkpoint. Raises a :class:`GanaugError` that says what differs."""
    from .checkpoint import latest_checkpoint
    from .run import find_run_dir

    run = find_run_dir(path)
    what = f"--init-from {path}"
    try:
        saved = read_json(run / "fit_config.json")
        fit, there = saved["fit"], saved["arch_args"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GanaugError(f"{what}: its fit_config.json cannot be read ({exc})") from exc
    if fit.get("task", "cgan") != "cgan":
        raise GanaugError(f"{what}: a {fit.get('task')} run; --init-from starts a class-conditional fit from another")
    if fit.get("arch") != arch:
        raise GanaugError(f"{what}: fitted with --arch {fit.get('arch')}; this run is --arch {arch}, give the same")
    if arch == "progan":
        raise GanaugError(f"{what}: a progan run grows its networks stage by stage; start it from scratch")
    differ = mismatched_args(there, arch_args)
    if differ:
        raise GanaugError(
            f"{what}: its networks have another shape ({'; '.join(differ)}); fit this run at the same size, "
            "channels and widths (--resolution, --channels, --ch, --latent-dim) or start from a run that matches"
        )
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise GanaugError(f"{what}: the run has no checkpoint yet (checkpoints/ is empty); let it train first")
    data = saved.get("data") or {}
    return InitSource(run, checkpoint, int(checkpoint.name.removeprefix("step-")), str(saved.get("data_source", "")),
                      [str(c) for c in data.get("class_names", [])])  # fmt: skip


def class_tensor_names(net: nn.Module) -> set[str]:
    """The state-dict names of ``net``'s class embeddings (every ``nn.Embedding``: one row per class)."""
    return {
        f"{prefix}.{key}"
        for prefix, module in net.named_modules()
        if isinstance(module, nn.Embedding)
        for key in module.state_dict()
    }


def init_networks(networks: dict[str, nn.Module], source: InitSource, class_names: list[str]) -> dict[str, int]:
    """Copy ``source``'s checkpoint into ``networks`` (by name, e.g. G, D, EMA): every tensor of the same name and
    shape, the class embeddings only when the class names are the same. Returns the tensors copied and left fresh."""
    from .checkpoint import load_checkpoint

    tensors, _ = load_checkpoint(source.checkpoint)  # checked against its recorded SHA-256
    same_classes = class_names == source.class_names
    copied = fresh = 0
    for name, net in networks.items():
        skip = set() if same_classes else class_tensor_names(net)
        state = {}
        for key, value in net.state_dict().items():
            src = tensors.get(f"{name}.{key}")
            if src is None or src.shape != value.shape or key in skip:
                fresh += 1
                continue
            state[key] = src
        net.load_state_dict(state, strict=False)
        copied += len(state)
    if copied == 0:
        raise GanaugError(f"--init-from {source.run}: none of its checkpoint's tensors fit this run's networks")
    return {"copied": copied, "fresh": fresh}
