"""``fit --eval-every N``: FID and CAS of the EMA generator over training, and the best EMA weights kept by one.

The reference is the real training data (or, with ``--eval-split``, a split of DATA the generator never saw, which
is what a choice of weights should rest on: CAS against the training data also rewards copies), the extractor the
run's own (``RUN/metrics/extractor.*``: the run's teacher classifier when it has one), the synthetic samples the same
noise at every evaluation, so the curves move only with the generator. CAS (classification accuracy score) is the
balanced accuracy on that real data of a small classifier trained on class-balanced samples alone: how well the
samples carry their class, which FID does not measure. The best EMA weights by ``--eval-metric`` are kept in
``checkpoints/best/`` (safetensors + JSON) and are the ones exported; a CAS still highest at the last of three or
more measurements is recorded (``cas_still_rising``), since a longer fit may then give better samples.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from ..fileio import read_json, save_tensors, write_json
from ..models.info import latent, parse_codes
from .extractor import get_extractor
from .quality import CAS_PER_CLASS, fid

BEST_DIR = "best"
MAX_SAMPLES = 2000
CAS_STEPS = 200  # fewer than evaluate's CAS: it runs every --eval-every steps


class QualityTracker:
    """Measures FID and CAS at the steps the loop asks for; keeps the best EMA generator by ``metric``.

    Example:
        >>> tracker = QualityTracker(run_dir, labelled, arch_args, device, metric="cas")  # doctest: +SKIP
        >>> tracker.evaluate(step, trainer.ema.shadow)  # doctest: +SKIP
        {'step': 500, 'fid': 3.1, 'cas': 0.71, 'best_cas': 0.71, 'extractor': 'ganaug-cnn-3f2a1b9c'}
    """

    def __init__(
        self,
        run_dir: Path,
        labelled,
        arch_args: dict,
        device: torch.device,
        metric: str = "fid",
        reference=None,
        max_seconds: float = 0.0,
        teacher=None,
    ):
        if metric not in ("fid", "cas"):
            raise ValueError(f"--eval-metric {metric!r} is not accepted; choose fid or cas")
        self.metric = metric
        self.run_dir = Path(run_dir)
        self.arch_args = arch_args
        self.device = device
        self.extractor = get_extractor("auto", data=labelled, folder=self.run_dir / "metrics", device=str(device),
                                       max_seconds=max_seconds, teacher=teacher)  # fmt: skip
        ref = labelled if reference is None else reference  # the split given by --eval-split, else the training data
        self.reference = "training data" if reference is None else "held-out split"
        gen = torch.Generator().manual_seed(0)
        keep = torch.randperm(len(ref.labels), generator=gen)[:MAX_SAMPLES]
        self.real_images = ref.images[keep]
        self.real = self.extractor(self.real_images)
        self.labels = ref.labels[keep]
        codes = parse_codes(arch_args.get("info_codes", ""))  # InfoGAN codes drawn at random, as in training
        self.z = latent(len(keep), arch_args["latent_dim"], codes, gen)
        self.cas_labels = torch.unique(labelled.labels).repeat_interleave(CAS_PER_CLASS)
        self.cas_z = latent(len(self.cas_labels), arch_args["latent_dim"], codes, gen)
        self.num_classes = arch_args["num_classes"]
        self.best_dir = self.run_dir / "checkpoints" / BEST_DIR
        info = read_json(self.best_dir / "best.json") if (self.best_dir / "best.json").is_file() else {}
        self.best = info.get(metric)
        self.best_fid = info.get("fid")
        self.best_step = info.get("step")
        self.measured = 1 if info else 0  # a resumed run's earlier best counts as a measurement
        self.last_step: int | None = None

    @torch.no_grad()
    def evaluate(self, step: int, ema: nn.Module) -> dict:
        from ..training.ema import recalibrate_batchnorm

        net = copy.deepcopy(ema)
        recalibrate_batchnorm(net, self.arch_args["num_classes"], self.arch_args["latent_dim"], self.device)
        net.eval()
        value = fid(self.real, self.extractor(self._draw(net, self.z, self.labels)))
        cas = self._cas(self._draw(net, self.cas_z, self.cas_labels))
        score = value if self.metric == "fid" else cas
        self.measured, self.last_step = self.measured + 1, step
        better = score is not None and (
            self.best is None or (score < self.best if self.metric == "fid" else score > self.best)
        )
        if better:
            self.best, self.best_step = score, step
            self.best_fid = value
            save_tensors(self.best_dir / "model.safetensors", net.state_dict(), metadata={"step": str(step)})
            best = {"step": step, "fid": value, "cas": cas, "metric": self.metric, "extractor": self.extractor.name}
            write_json(self.best_dir / "best.json", best)
        name = self.extractor.name
        return {"step": step, "fid": value, "cas": cas, f"best_{self.metric}": self.best, "extractor": name}

    def _draw(self, net: nn.Module, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        chunks = zip(z.split(256), y.split(256), strict=True)
        return torch.cat([net(a.to(self.device), b.to(self.device)).float().cpu() for a, b in chunks])

    def _cas(self, fake: torch.Tensor) -> float | None:
        """Balanced accuracy on the real reference of a classifier trained on ``fake`` (None with one class)."""
        from .quality import classifier_accuracy_score

        if len(torch.unique(self.cas_labels)) < 2:
            return None
        with torch.enable_grad():  # evaluate() runs under no_grad
            score = classifier_accuracy_score(fake, self.cas_labels, self.real_images, self.labels, self.num_classes,
                                              device=str(self.device), steps=CAS_STEPS)  # fmt: skip
        return round(score["balanced_accuracy"], 4)

    def still_rising(self) -> bool:
        """Whether CAS was highest at the last of three or more measurements: the run may have ended too early."""
        at_last = self.best_step is not None and self.best_step == self.last_step
        return self.metric == "cas" and self.measured >= 3 and at_last

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
        """Add the kept weights' FID (named after its extractor), step and metric to an export's ``config.json``."""
        if self.best_step is not None:
            if self.best_fid is not None:
                group = config.setdefault("metrics", {}).setdefault(f"quality[{self.extractor.name}]", {})
                group["fid"] = round(float(self.best_fid), 6)
            config["training"].update(best_step=self.best_step, best_by=self.metric, best_fid_reference=self.reference)
            if self.metric == "cas":
                config["training"]["best_cas"] = self.best
            if self.still_rising():
                config["training"]["cas_still_rising"] = True
        return config
