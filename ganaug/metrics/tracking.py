"""``fit --eval-every N``: FID of the EMA generator over training, and the best EMA weights kept by it.

The reference is the real training data, the extractor the run's own (``RUN/metrics/extractor.*``), the synthetic
samples the same noise at every evaluation, so the curve moves only with the generator. The best EMA weights are
kept in ``checkpoints/best/`` (safetensors + JSON) and are the ones exported.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from ..fileio import read_json, save_tensors, write_json
from .extractor import get_extractor
from .quality import fid

BEST_DIR = "best"
MAX_SAMPLES = 2000


class FidTracker:
    """Measures FID at the steps the loop asks for; keeps the best EMA generator.

    Example:
        >>> tracker = FidTracker(run_dir, labelled, arch_args, device)  # doctest: +SKIP
        >>> tracker.evaluate(step, trainer.ema.shadow)  # doctest: +SKIP
        {'step': 500, 'fid': 3.1, 'best_fid': 3.1, 'extractor': 'ganaug-cnn-3f2a1b9c'}
    """

    def __init__(self, run_dir: Path, labelled, arch_args: dict, device: torch.device):
        self.run_dir = Path(run_dir)
        self.arch_args = arch_args
        self.device = device
        self.extractor = get_extractor("auto", data=labelled, folder=self.run_dir / "metrics", device=str(device))
        gen = torch.Generator().manual_seed(0)
        keep = torch.randperm(len(labelled.labels), generator=gen)[:MAX_SAMPLES]
        self.real = self.extractor(labelled.images[keep])
        self.labels = labelled.labels[keep]
        self.z = torch.randn(len(keep), arch_args["latent_dim"], generator=gen)
        self.best_dir = self.run_dir / "checkpoints" / BEST_DIR
        info = read_json(self.best_dir / "best.json") if (self.best_dir / "best.json").is_file() else {}
        self.best_fid = info.get("fid")
        self.best_step = info.get("step")

    @torch.no_grad()
    def evaluate(self, step: int, ema: nn.Module) -> dict:
        from ..training.ema import recalibrate_batchnorm

        net = copy.deepcopy(ema)
        recalibrate_batchnorm(net, self.arch_args["num_classes"], self.arch_args["latent_dim"], self.device)
        net.eval()
        fake = torch.cat(
            [
                net(z.to(self.device), y.to(self.device)).float().cpu()
                for z, y in zip(self.z.split(256), self.labels.split(256), strict=True)
            ]
        )
        value = fid(self.real, self.extractor(fake))
        if value is not None and (self.best_fid is None or value < self.best_fid):
            self.best_fid, self.best_step = value, step
            save_tensors(self.best_dir / "model.safetensors", net.state_dict(), metadata={"step": str(step)})
            write_json(self.best_dir / "best.json", {"step": step, "fid": value, "extractor": self.extractor.name})
        return {"step": step, "fid": value, "best_fid": self.best_fid, "extractor": self.extractor.name}

    def best_net(self, net: nn.Module) -> nn.Module:
        """``net`` with the best EMA weights loaded (``net`` as it is when nothing was measured)."""
        from safetensors.torch import load_file

        path = self.best_dir / "model.safetensors"
        if self.best_step is None or not path.is_file():
            return net
        best = copy.deepcopy(net)
        best.load_state_dict(load_file(str(path)), strict=True)
        return best.eval()

    def update_config(self, config: dict) -> dict:
        """Add the best FID (named after its extractor) and its step to an export's ``config.json`` content."""
        if self.best_fid is not None:
            group = config.setdefault("metrics", {}).setdefault(f"quality[{self.extractor.name}]", {})
            group["fid"] = round(float(self.best_fid), 6)
            config["training"].update(best_step=self.best_step, best_fid_reference="training data")
        return config
