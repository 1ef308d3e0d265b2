"""Feature extractors for the quality metrics. Every figure names its extractor: numbers from different
extractors are not comparable.

- ``inception``: torchmetrics' InceptionV3 (the FID standard), only when its weights are on this machine as
  safetensors (``$GANAUG_INCEPTION_WEIGHTS`` or ``~/.cache/ganaug/inception-v3-compat.safetensors``); nothing
  is downloaded.
- ``classifier``: a :class:`~ganaug.downstream.classifier.SmallResNet` trained on the real training data, saved next
  to the measurement as ``extractor.safetensors`` + ``extractor.json`` and named ``ganaug-cnn-<hash>`` after its
  weights.
- any :class:`FeatureExtractor` subclass you write (``name`` + ``features(images)``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GanaugError

EXTRACTOR_WEIGHTS = "extractor.safetensors"
EXTRACTOR_JSON = "extractor.json"
INCEPTION_NAME = "inception-v3-compat"


class FeatureExtractor:
    """Maps model-space images (N x C x H x W in [-1, 1]) to N x D float features; ``name`` is shown with every figure.

    Example:
        >>> class Pixels(FeatureExtractor):
        ...     name = "pixels"
        ...     def features(self, images):
        ...         return images.flatten(1)
    """

    name: str = "custom"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        from ..downstream.classifier import cpu_threads_for

        with cpu_threads_for(images, torch.device("cpu")):
            chunks = [self.features(chunk).float().cpu() for chunk in images.split(batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0, 0)


class ClassifierExtractor(FeatureExtractor):
    """Penultimate features of a small classifier trained on the real training data.

    Example:
        >>> ex = ClassifierExtractor.train(real)  # doctest: +SKIP
        >>> ex.save("runs/x/metrics"); ex.name  # doctest: +SKIP
        'ganaug-cnn-3f2a1b9c'
    """

    def __init__(self, net: nn.Module, info: dict):
        self.net = net.eval().requires_grad_(False)
        self.info = info
        self.name = info["name"]

    @classmethod
    def train(
        cls, data, epochs: int = 30, seed: int = 0, device: str = "auto", base: int = 0, max_seconds: float = 0.0
    ) -> ClassifierExtractor:
        """Train on a :class:`~ganaug.data.LabelledData` (or anything with ``images``, ``labels``, ``config``);
        ``max_seconds`` (0: none) cuts ``epochs`` to what a few timed steps say fits in that time."""
        from ..downstream.classifier import (
            SmallResNet,
            epochs_within,
            resolve_device,
            seed_everything,
            train_classifier,
        )

        x, y, dc = data.images, data.labels, data.config
        if len(y) < 2:
            raise GanaugError(f"the feature classifier needs at least 2 real samples, got {len(y)}")
        asked = epochs
        if max_seconds > 0:
            epochs = epochs_within(max_seconds, epochs, x, y, device=resolve_device(device))
        with torch.random.fork_rng(devices=[]):  # leave the caller's random state as it was
            seed_everything(seed)
            net = SmallResNet(dc.channels, dc.num_classes, dc.height, dc.width, base)
            net = train_classifier(net, x, y, epochs=epochs, seed=seed, device=resolve_device(device), min_steps=50)
            net = net.cpu()
        return cls.from_net(net, data, epochs=epochs, asked=asked, seed=seed)

    @classmethod
    def from_net(
        cls, net: nn.Module, data, *, epochs: int, asked: int, seed: int, trained_as: str = ""
    ) -> ClassifierExtractor:
        """The extractor of a :class:`~ganaug.downstream.classifier.SmallResNet` already trained on ``data``; its name
        is a hash of its weights, ``trained_as`` says how it was trained when another part of ganaug trained it."""
        from ..downstream.classifier import predict_proba

        x, y, dc = data.images, data.labels, data.config
        accuracy = float((predict_proba(net, x).argmax(1) == y.numpy()).mean())
        digest = hashlib.sha256()
        for key, value in sorted(net.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().contiguous().numpy().tobytes())
        info = {
            "name": f"ganaug-cnn-{digest.hexdigest()[:8]}",
            "kind": "classifier",
            "arch": "SmallResNet",
            "arch_args": net.config,
            "class_names": list(dc.class_names),
            "train_samples": int(len(y)),
            "train_accuracy": round(accuracy, 4),
            "epochs": epochs,
            "epochs_asked": asked,
            "seed": seed,
            "data_fingerprint": fingerprint(x, y),
        }
        if trained_as:
            info["trained_as"] = trained_as
        return cls(net, info)

    @classmethod
    def from_teacher(cls, teacher, data) -> ClassifierExtractor:
        """A fit's teacher (a :class:`~ganaug.downstream.teacher.Teacher`, the same kind of network) trained on
        ``data``, as the extractor: no second network of that kind is trained on the same data."""
        import copy

        info = teacher.info  # a teacher saved by an older ganaug may lack the later fields
        how = ", ".join(f"{info[k]}{suffix}" for k, suffix in (("batches", " batches"), ("augment", "")) if info.get(k))
        epochs, trained_as = info.get("epochs", 0), "the run's teacher classifier" + (f" ({how})" if how else "")
        return cls.from_net(
            copy.deepcopy(teacher.net), data, epochs=epochs, asked=info.get("epochs_asked", epochs),
            seed=info.get("seed", 0), trained_as=trained_as,
        )  # fmt: skip

    def features(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        return self.net.features(images.to(device))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.net.parameters()).device
        with torch.no_grad():
            return torch.cat([self.net(c.to(device)).float().cpu() for c in images.split(256)])

    def save(self, folder: str | Path) -> Path:
        """Write ``extractor.safetensors`` + ``extractor.json`` (its info, the weights' SHA-256) into ``folder``."""
        from ..exported import save_exported

        return save_exported(
            folder, self.net.state_dict(), EXTRACTOR_JSON, self.info, EXTRACTOR_WEIGHTS, {"name": self.name}
        )

    @classmethod
    def load(cls, folder: str | Path) -> ClassifierExtractor:
        """The extractor saved in ``folder``, strictly loaded (weights checked against the JSON)."""
        from ..downstream.classifier import SmallResNet
        from ..exported import load_exported

        try:
            info, net = load_exported(
                folder, EXTRACTOR_JSON, EXTRACTOR_WEIGHTS, lambda c: SmallResNet.from_config(c["arch_args"])
            )
        except (OSError, KeyError, TypeError, ValueError, RuntimeError, GanaugError) as exc:
            raise GanaugError(
                f"feature extractor in {folder} cannot be read ({exc}); delete it to train a new one"
            ) from None
        return cls(net, info)


class InceptionExtractor(FeatureExtractor):
    """torchmetrics' InceptionV3 (2048 pooled features) from local safetensors weights; gray is repeated to RGB."""

    name = INCEPTION_NAME

    def __init__(self, weights: str | Path):
        from safetensors.torch import load_file
        from torchmetrics.image.fid import NoTrainInceptionV3

        try:
            import torch_fidelity.feature_extractor_inceptionv3 as tfi
        except ImportError as exc:
            raise GanaugError("the inception extractor needs torch-fidelity: pip install 'ganaug[metrics]'") from exc
        state = load_file(str(weights))
        original = tfi.load_state_dict_from_url
        tfi.load_state_dict_from_url = lambda *args, **kwargs: state  # the weights given, never a download
        try:
            self.net = NoTrainInceptionV3(name=INCEPTION_NAME, features_list=["2048"])
        finally:
            tfi.load_state_dict_from_url = original

    def features(self, images: torch.Tensor) -> torch.Tensor:
        x = images[:, :3] if images.shape[1] >= 3 else images[:, :1].expand(-1, 3, -1, -1)
        x = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self.net(x)


def inception_weights() -> Path | None:
    """The local InceptionV3 safetensors file, if there is one."""
    env = os.environ.get("GANAUG_INCEPTION_WEIGHTS")
    path = Path(env) if env else Path.home() / ".cache" / "ganaug" / "inception-v3-compat.safetensors"
    return path if path.is_file() else None


def fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(y.numpy()).tobytes())
    digest.update(np.ascontiguousarray(x.float().numpy()).tobytes())
    return digest.hexdigest()[:16]


def get_extractor(
    kind: str | FeatureExtractor = "auto",
    data=None,
    folder: str | Path | None = None,
    device: str = "auto",
    epochs: int = 30,
    max_seconds: float = 0.0,
    teacher=None,
) -> FeatureExtractor:
    """An extractor: ``"auto"`` (inception if its weights are here, else classifier), ``"inception"``,
    ``"classifier"`` (loaded from ``folder`` when it was trained on the same data, else trained on ``data`` and
    saved there, its epochs cut to fit ``max_seconds`` when given; or, given a ``teacher`` trained on ``data``, that
    network, saved there), or a :class:`FeatureExtractor` instance, returned as it is."""
    if isinstance(kind, FeatureExtractor):
        return kind
    if kind not in ("auto", "inception", "classifier"):
        raise GanaugError(f"unknown feature extractor {kind!r}; choose auto, inception or classifier")
    weights = inception_weights()
    if kind == "inception" or (kind == "auto" and weights is not None):
        if weights is None:
            raise GanaugError(
                "InceptionV3 weights are not on this machine; put them as safetensors at "
                "~/.cache/ganaug/inception-v3-compat.safetensors (or $GANAUG_INCEPTION_WEIGHTS), or use "
                "--extractor classifier"
            )
        return InceptionExtractor(weights)
    if folder is not None and (Path(folder) / EXTRACTOR_JSON).is_file():
        ex = ClassifierExtractor.load(folder)
        if data is None or ex.info.get("data_fingerprint") == fingerprint(data.images, data.labels):
            return ex
    if data is None:
        raise GanaugError("the classifier feature extractor needs the real training data to train on")
    if teacher is not None:
        ex = ClassifierExtractor.from_teacher(teacher, data)
    else:
        ex = ClassifierExtractor.train(data, epochs=epochs, device=device, max_seconds=max_seconds)
    if folder is not None:
        ex.save(folder)
    return ex
