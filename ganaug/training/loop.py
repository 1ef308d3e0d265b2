"""The conditional-GAN trainer: phases of a plain PyTorch loop, with state that checkpoints bit for bit.

Every random number of training comes from three explicit CPU generators (data, noise, augmentation),
so a checkpoint holds the complete state and a resumed run reaches the same weights as an unbroken one.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..builders import LOSSES, build_discriminator, build_generator
from ..config import FitConfig
from ..models.info import draw_codes, parse_codes
from ..models.layers import pool_features
from .ada import AdaptiveStrength
from .augment import DiffAugment
from .class_loss import (
    attach_class_head,
    check_class_loss,
    class_terms,
    cond_scale,
    parse_cond_ramp,
    set_cond_scale,
)
from .ema import EMA
from .engine import Engine
from .info_codes import attach_info_head, check_info_weight, info_loss
from .losses import drift_penalty, gradient_penalty, r1_penalty
from .progan_schedule import Growth
from .trainer import Trainer, make_optimizer


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Learning-rate multiplier at ``step`` of ``total``: constant, linear to zero, or cosine to zero."""
    t = min(1.0, step / max(1, total))
    if schedule == "linear":
        return 1.0 - t
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0


class CganTrainer(Trainer):
    """Owns G, D, the EMA generator, optimizers, augmentation and random streams for one process."""

    STREAMS = ("data", "noise", "aug")
    HINT = "a lower --lr-d/--lr-g, --grad-clip 1, --r1-gamma 1 or --loss hinge"

    def __init__(self, cfg: FitConfig, images: torch.Tensor, labels: torch.Tensor, arch_args: dict, engine: Engine):
        super().__init__(cfg, engine)
        self.arch_args = arch_args
        self.num_classes = arch_args["num_classes"]
        self.G = engine.prepare(build_generator(cfg.arch, arch_args))
        D = build_discriminator(cfg.arch, arch_args)
        check_class_loss(cfg.class_loss, cfg.class_loss_weight)
        self.class_head = attach_class_head(D, self.num_classes, cfg.class_loss) if cfg.class_loss != "none" else None
        self.codes = parse_codes(arch_args.get("info_codes", ""))  # InfoGAN codes: G's input, Q's targets
        check_info_weight(cfg.info_weight)
        shape = (arch_args["channels"], arch_args["height"], arch_args["width"])
        self.info_head = attach_info_head(D, self.codes, shape) if self.codes else None
        self._q: torch.Tensor | None = None
        self.last_info: torch.Tensor | None = None
        self.cond_ramp = parse_cond_ramp(cfg.cond_ramp)
        self.D = engine.prepare(D)
        self.ema = EMA(self.G, cfg.ema_decay)
        self.g_call, self.d_call = self.G, self.D  # replaced by compiled wrappers with --compile
        # one D pass over real and fake, unless D keeps batch statistics (BatchNorm, minibatch stddev)
        batch_stats = getattr(D, "batch_statistics", False)
        self.joint_d = not batch_stats and not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())
        # --arch progan: the stage and fade of progressive growing, a function of the step saved with the checkpoint
        grows = hasattr(self.G, "set_growth")
        self.growth = Growth(cfg, arch_args["height"], arch_args["width"]) if grows else None
        self.loss = LOSSES.get(cfg.loss).cls()
        # ProGAN's drift penalty on D(real); -1 (auto) is only unresolved in a run saved before it existed: off, as then
        self.drift = max(0.0, cfg.progan_drift)
        self.last_drift: torch.Tensor | None = None
        self.d_steps = cfg.d_steps or self.loss.d_steps
        self.opt_g = make_optimizer(cfg, self.G.parameters(), cfg.lr_g, cfg.beta1)
        self.opt_d = make_optimizer(cfg, self.D.parameters(), cfg.lr_d, cfg.beta1)
        self.augment = DiffAugment(cfg.augment)
        fixed = None if cfg.augment_p < 0 else cfg.augment_p
        self.ada = AdaptiveStrength(cfg.ada_target, cfg.ada_kimg, interval=4, fixed=fixed)
        self._set_data(images, labels)

    # -- data ---------------------------------------------------------------------------------------------
    def _set_data(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = self.keep(images)
        self.labels = labels
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels, minlength=self.num_classes)
        self.order = order
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts
        self.present = torch.nonzero(counts > 0).flatten()

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A real batch; class-balanced means each class is equally likely, then a uniform file within it."""
        g = self.gens["data"]
        if self.cfg.balanced:
            cls = self.present[torch.randint(len(self.present), (self.batch,), generator=g)]
            within = (torch.rand(self.batch, generator=g) * self.counts[cls]).long()
            idx = self.order[self.starts[cls] + within]
        else:
            idx = torch.randint(len(self.labels), (self.batch,), generator=g)
        x = self.images[idx.to(self.images.device)]
        return self.engine.to_device(x), self.engine.to_device(self.labels[idx])

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.gens["noise"]
        z = torch.randn(n, self.arch_args["latent_dim"], generator=g)
        y = self.present[torch.randint(len(self.present), (n,), generator=g)]
        if self.codes:  # drawn after z and y, so a run without codes keeps its random stream
            z = torch.cat([z, draw_codes(n, self.codes, g)], dim=1)
        return self.engine.to_device(z), self.engine.to_device(y)

    # -- phases -------------------------------------------------------------------------------------------
    def d_outputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits (float32) and, with ``--class-loss``, its class head's outputs (adc: 2K logits a sample). With
        ``--info-codes`` Q's outputs on the same features are kept in ``self._q``."""
        if self.class_head is None and self.info_head is None:
            return self.d_call(x, y).float(), None
        if self.info_head is not None:  # Q reads the map before pooling
            fmap = self.D.feature_map(x)
            h, self._q = pool_features(fmap), self.info_head(fmap)
        else:
            h, self._q = self.D.features(x), None
        return self.D.head(h, y).float(), self.class_head(h) if self.class_head is not None else None

    def mi_loss(self, z: torch.Tensor, n_real: int = 0) -> torch.Tensor | None:
        """The InfoGAN loss of Q's outputs of the last ``d_outputs`` call (its generated rows) against ``z``'s codes."""
        if self.info_head is None:
            return None
        return info_loss(self._q[n_real:], z[:, self.arch_args["latent_dim"] :], self.codes)

    def d_phase(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, p = self.cfg, self.ada.p
        self.D.requires_grad_(True)
        real, y_real = self.real_batch()
        if self.growth is not None:
            real = self.growth.fade_reals(real)
        z, y_fake = self.noise(self.batch)
        with torch.no_grad(), self.engine.autocast():
            fake = self.g_call(z, y_fake)
        real_in = self.augment(real, p, self.gens["aug"]).detach()
        fake_in = self.augment(fake.float(), p, self.gens["aug"]).detach()
        if cfg.r1_gamma > 0:
            real_in.requires_grad_(True)
        with self.engine.autocast():
            n = len(y_real)
            if self.joint_d:  # one pass over real and fake: fewer kernels, and one spectral-norm update per phase
                logits, cls = self.d_outputs(torch.cat([real_in, fake_in]), torch.cat([y_real, y_fake]))
                real_logits, fake_logits = logits[:n], logits[n:]
                cls_real, cls_fake = (None, None) if cls is None else (cls[:n], cls[n:])
                mi = self.mi_loss(z, n_real=n)
            else:  # BatchNorm in D: real and fake keep separate batch statistics
                real_logits, cls_real = self.d_outputs(real_in, y_real)
                fake_logits, cls_fake = self.d_outputs(fake_in, y_fake)
                mi = self.mi_loss(z)
            loss = self.loss.d_loss(real_logits, fake_logits)
            if self.drift > 0:
                drift = drift_penalty(real_logits)
                loss = loss + self.drift * drift
                self.last_drift = drift.detach()
            if mi is not None:
                loss = loss + cfg.info_weight * mi
            if self.class_head is not None:
                loss = loss + cfg.class_loss_weight * class_terms(cfg.class_loss, self.class_head, cls_real, y_real,
                                                                  self.num_classes, cls_fake, y_fake)  # fmt: skip
        if self.loss.gradient_penalty:
            loss = loss + cfg.gp_weight * gradient_penalty(self.D, real_in, fake_in, y_real, self.gens["aug"])
        if cfg.r1_gamma > 0:
            loss = loss + cfg.r1_gamma * r1_penalty(real_logits, real_in)
        self.update([self.D], self.opt_d, loss, "d")
        if self.loss.weight_clip:
            with torch.no_grad():
                for param in self.D.parameters():
                    param.clamp_(-cfg.clip_value, cfg.clip_value)
        return loss.detach(), torch.sign(real_logits.detach()).sum()

    def g_phase(self) -> torch.Tensor:
        self.D.requires_grad_(False)
        z, y = self.noise(self.batch)
        with self.engine.autocast():
            fake = self.g_call(z, y)
        fake_in = self.augment(fake.float(), self.ada.p, self.gens["aug"])
        with self.engine.autocast():
            logits, cls = self.d_outputs(fake_in, y)
            loss = self.loss.g_loss(logits)
            if cls is not None:
                loss = loss + self.cfg.class_loss_weight * class_terms(self.cfg.class_loss, self.class_head, cls, y,
                                                                       self.num_classes, generator=True)  # fmt: skip
            mi = self.mi_loss(z)
            if mi is not None:
                loss = loss + self.cfg.info_weight * mi
                self.last_info = mi.detach()
        self.update([self.G], self.opt_g, loss, "g")
        return loss.detach()

    def train_step(self) -> dict[str, float]:
        """One generator update after ``d_steps`` discriminator updates; raises on a non-finite loss."""
        self.step += 1
        self.set_lr(lr_factor(self.cfg.lr_decay, self.step - 1, self.cfg.steps))
        if self.cond_ramp is not None:
            set_cond_scale(cond_scale(self.cond_ramp, self.step - 1, self.cfg.steps), self.G, self.D, self.ema.shadow)
        if self.growth is not None:
            self.growth.advance(self.cfg, self.step, self.G, self.D, self.ema.shadow)
        sign_sum = torch.zeros(())
        for _ in range(self.d_steps):
            loss_d, signs = self.d_phase()
            sign_sum = sign_sum + signs.cpu()
        loss_g = self.g_phase()
        values = [loss_d.float().cpu(), loss_g.float().cpu()]
        if self.info_head is not None:  # the generator's InfoGAN loss: how well Q reads the codes of fresh samples
            values.append(self.last_info.float().cpu())
        if self.drift > 0:  # the drift term of the last D update, unweighted: mean(D(real)^2)
            values.append(self.last_drift.float().cpu())
        stats = torch.stack(values)
        if self.engine.distributed:
            stats = self.engine.all_reduce_sum(torch.cat([stats, sign_sum.view(1)])) / self.engine.world_size
            stats, sign_sum = stats[:-1], stats[-1] * self.engine.world_size
        self.check_finite(stats)
        self.ema.update(self.step)
        self.ada.accumulate(float(sign_sum), float(self.batch * self.d_steps * self.engine.world_size))
        self.ada.maybe_update(self.step, self.cfg.batch_size)
        out = {"loss_d": stats[0].item(), "loss_g": stats[1].item(), "augment_p": self.ada.p}
        if self.growth is not None:
            out.update(self.growth.stats())
        if self.info_head is not None:
            out["loss_info"] = stats[2].item()
        if self.drift > 0:
            out["loss_drift"] = stats[-1].item()
        return out

    def compile(self) -> list[str]:
        """``torch.compile`` the networks' forward calls (not the modules, so checkpoints keep plain names)."""
        self.g_call = torch.compile(self.G)
        if self.cfg.r1_gamma > 0 or self.loss.gradient_penalty:
            return ["the discriminator stays eager: its gradient penalty needs double backward, which compile lacks"]
        self.d_call = torch.compile(self.D)
        return []

    # -- state --------------------------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D, "EMA": self.ema.shadow}

    def extra_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        meta = {"ada": self.ada.state_dict()}
        if self.growth is not None:
            meta["progan"] = self.growth.state()
        return {}, meta

    def load_extra_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.ada.load_state_dict(meta["ada"])
        if self.growth is not None:
            self.growth.load(meta.get("progan"), int(meta["train_step"]))
