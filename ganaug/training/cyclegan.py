"""The CycleGAN trainer: two generators (a2b, b2a), two PatchGAN discriminators, history pools, exact-resume state.

The canon of Zhu et al. (2017): an adversarial loss per direction (LSGAN by default, L_G = MSE(D(G(x)), 1) and
L_D = (MSE(D(y), 1) + MSE(D(pool(G(x))), 0)) / 2), cycle consistency ``lambda * |F(G(a)) - a|_1`` both ways,
identity ``identity * lambda * |G(b) - b|_1`` both ways (when both domains have the same channels), a 50-image
history pool per domain, Adam 2e-4 / beta1 0.5, constant learning rate then a linear decay to zero, and random
resize-crop + flip jitter of the real images. Generators run once per input group (real A and B concatenated for
the identity term), which instance norm makes identical to separate calls.

Every random number comes from explicit CPU generators (data, jitter, pool) or the global torch state, and the
pools are tensors, so a checkpoint holds the complete state: a resumed run reaches the same weights as an
unbroken one.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..builders import LOSSES
from ..config import FitConfig
from ..errors import GanaugError
from ..models.cyclegan import build_patch_discriminators, build_translators
from .engine import Engine
from .trainer import Trainer, make_optimizer

CYCLEGAN_LOSSES = ("lsgan", "bce", "hinge")
# ganaug's lsgan halves L_G and both lsgan and the others sum L_D's two terms; these restore the reference's weights
G_SCALE = {"lsgan": 2.0}
D_SCALE = {"lsgan": 1.0}
LOAD_RATIO = 286 / 256  # jitter: resize to this much of the training size, then crop back (the reference's 286/256)
GRID_IMAGES = 8


def cycle_lr_factor(step: int, total: int, decay_from: float) -> float:
    """1 for the first ``decay_from`` of the steps, then linearly down towards 0 (the reference's schedule)."""
    constant = int(round(total * min(1.0, max(0.0, decay_from))))
    return 1.0 - max(0, step - constant) / float(total - constant + 1)


class ImagePool:
    """The history of generated images shown to a discriminator (Shrivastava et al.), as one tensor.

    Until full, each image is stored and returned; then with probability 1/2 an image swaps places with a random
    stored one (the stored one is returned), else it is returned as is.

    Example:
        >>> pool = ImagePool(50)
        >>> pool.query(torch.zeros(4, 3, 8, 8), torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 8, 8])
    """

    def __init__(self, size: int):
        self.size = int(size)
        self.images: Tensor | None = None
        self.count = 0

    @torch.no_grad()
    def query(self, images: Tensor, gen: torch.Generator) -> Tensor:
        if self.size <= 0:
            return images
        n = len(images)
        swap = (torch.rand(n, generator=gen) > 0.5).tolist()
        slots = torch.randint(self.size, (n,), generator=gen).tolist()
        if self.images is None:
            self.images = images.new_zeros((self.size, *images.shape[1:]))
        out = []
        for i in range(n):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
                out.append(images[i])
            elif swap[i]:
                out.append(self.images[slots[i]].clone())
                self.images[slots[i]] = images[i]
            else:
                out.append(images[i])
        return torch.stack(out)

    def state(self, prefix: str) -> dict[str, Tensor]:
        return {prefix: self.images[: self.count]} if self.images is not None and self.count else {}

    def load(self, prefix: str, tensors: dict[str, Tensor], like: Tensor) -> None:
        stored = tensors.get(prefix)
        self.count = 0 if stored is None else len(stored)
        self.images = like.new_zeros((self.size, *like.shape[1:]))
        if stored is not None:
            self.images[: self.count] = stored.to(like.device, like.dtype)


def jitter(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random resize-crop (up by 286/256, crop back) and horizontal flip, one draw per image from ``gen``."""
    n, _, h, w = x.shape
    lh, lw = max(h, round(h * LOAD_RATIO)), max(w, round(w * LOAD_RATIO))
    top = torch.randint(lh - h + 1, (n,), generator=gen).tolist()
    left = torch.randint(lw - w + 1, (n,), generator=gen).tolist()
    flip = torch.rand(n, generator=gen) < 0.5
    big = F.interpolate(x, size=(lh, lw), mode="bilinear", align_corners=False) if (lh, lw) != (h, w) else x
    out = torch.stack([big[i, :, t : t + h, s : s + w] for i, (t, s) in enumerate(zip(top, left, strict=True))])
    return torch.where(flip.view(-1, 1, 1, 1).to(x.device), out.flip(-1), out).clamp_(-1, 1)


def l1(a: Tensor, b: Tensor) -> Tensor:
    return (a.float() - b.float()).abs().mean()


class CycleTrainer(Trainer):
    """Owns G_ab, G_ba, D_a, D_b, both optimizers, the pools and the random streams for one process.

    Example:
        >>> args = translator_args("resnet", 1, 3, 16, 16, ch=4, blocks=1)  # doctest: +SKIP
        >>> cfg = FitConfig(task="cyclegan", arch="resnet", loss="lsgan", batch_size=2, steps=10)  # doctest: +SKIP
        >>> trainer = CycleTrainer(cfg, gray_a, rgb_b, args, create_engine("cpu"), jitter_on=True)  # doctest: +SKIP
        >>> trainer.train_step()["cycle_l1"]  # doctest: +SKIP
    """

    STREAMS = ("data", "jitter", "pool")
    COLUMNS = (("D", "loss_d"), ("G", "loss_g"), ("cycle", "cycle_l1"))
    FINAL = ("loss_d", "loss_g", "cycle_l1")
    HINT = "lower --lr-g/--lr-d or --grad-clip 1"

    def __init__(
        self, cfg: FitConfig, images_a: Tensor, images_b: Tensor, arch_args: dict, engine: Engine, jitter_on: bool
    ):
        super().__init__(cfg, engine)
        if cfg.loss not in CYCLEGAN_LOSSES:
            raise GanaugError(f"--loss {cfg.loss} is not accepted for cyclegan; choose {', '.join(CYCLEGAN_LOSSES)}")
        self.arch_args, self.jitter_on = arch_args, jitter_on
        g_ab, g_ba = build_translators(cfg.arch, arch_args)
        d_a, d_b = build_patch_discriminators(cfg.arch, arch_args)
        nets = zip(("G_ab", "G_ba", "D_a", "D_b"), (g_ab, g_ba, d_a, d_b), strict=True)
        self.nets = {name: engine.prepare(net) for name, net in nets}
        self.calls = dict(self.nets)  # replaced by compiled wrappers with --compile
        self.loss = LOSSES.get(cfg.loss).cls()
        self.g_scale, self.d_scale = G_SCALE.get(cfg.loss, 1.0), D_SCALE.get(cfg.loss, 0.5)
        self.identity = cfg.cyclegan_identity > 0 and arch_args["channels_a"] == arch_args["channels_b"]
        g_params = itertools.chain(self.nets["G_ab"].parameters(), self.nets["G_ba"].parameters())
        d_params = itertools.chain(self.nets["D_a"].parameters(), self.nets["D_b"].parameters())
        self.opt_g = make_optimizer(cfg, g_params, cfg.lr_g, cfg.beta1)
        self.opt_d = make_optimizer(cfg, d_params, cfg.lr_d, cfg.beta1)
        self.pools = {"a": ImagePool(cfg.cyclegan_pool), "b": ImagePool(cfg.cyclegan_pool)}
        self.images = {k: self.keep(v) for k, v in (("a", images_a), ("b", images_b))}
        self.fixed = {"a": images_a[:GRID_IMAGES].clone(), "b": images_b[:GRID_IMAGES].clone()}

    def real_batch(self) -> tuple[Tensor, Tensor]:
        """Unpaired: independent uniform draws from each domain, jittered."""
        g = self.gens["data"]
        out = []
        for key in ("a", "b"):
            images = self.images[key]
            idx = torch.randint(len(images), (self.batch,), generator=g)
            x = self.engine.to_device(images[idx.to(images.device)])
            out.append(jitter(x, self.gens["jitter"]) if self.jitter_on else x)
        return out[0], out[1]

    def train_step(self) -> dict[str, float]:
        """One update of both generators, then one of both discriminators; raises on a non-finite loss."""
        cfg, c, n = self.cfg, self.calls, self.batch
        self.step += 1
        factor = cycle_lr_factor(self.step - 1, cfg.steps, cfg.cyclegan_decay_from)
        self.set_lr(factor)
        real_a, real_b = self.real_batch()
        lam = cfg.cyclegan_lambda
        # generators: D frozen; one pass per generator and input group
        self.nets["D_a"].requires_grad_(False)
        self.nets["D_b"].requires_grad_(False)
        with self.engine.autocast():
            out_ab = c["G_ab"](torch.cat([real_a, real_b]) if self.identity else real_a)
            fake_b = out_ab[:n]
            out_ba = c["G_ba"](torch.cat([fake_b, real_b, real_a] if self.identity else [fake_b, real_b]))
            rec_a, fake_a = out_ba[:n], out_ba[n : 2 * n]
            rec_b = c["G_ab"](fake_a)
            adv = self.loss.g_loss(c["D_b"](fake_b).float()) + self.loss.g_loss(c["D_a"](fake_a).float())
            cycle = l1(rec_a, real_a) + l1(rec_b, real_b)
            idt = l1(out_ab[n:], real_b) + l1(out_ba[2 * n :], real_a) if self.identity else cycle.new_zeros(())
            loss_g = self.g_scale * adv + lam * cycle + lam * cfg.cyclegan_identity * idt
        self.update([self.nets["G_ab"], self.nets["G_ba"]], self.opt_g, loss_g, "g")
        # discriminators: real and pooled fakes in one pass each (instance norm keeps samples independent)
        self.nets["D_a"].requires_grad_(True)
        self.nets["D_b"].requires_grad_(True)
        pooled_a = self.pools["a"].query(fake_a.detach().float(), self.gens["pool"])
        pooled_b = self.pools["b"].query(fake_b.detach().float(), self.gens["pool"])
        with self.engine.autocast():
            la = c["D_a"](torch.cat([real_a, pooled_a])).float()
            lb = c["D_b"](torch.cat([real_b, pooled_b])).float()
            loss_d = self.d_scale * (self.loss.d_loss(la[:n], la[n:]) + self.loss.d_loss(lb[:n], lb[n:]))
        self.update([self.nets["D_a"], self.nets["D_b"]], self.opt_d, loss_d, "d")
        # cycle/identity: mean |error| per direction on the [0, 1] scale (as in the export's metrics)
        stats = torch.stack([t.detach().float().cpu() for t in (loss_d, loss_g, cycle / 4, idt / 4, adv / 2)])
        if self.engine.distributed:
            stats = self.engine.all_reduce_sum(stats) / self.engine.world_size
        self.check_finite(stats)
        names = ("loss_d", "loss_g", "cycle_l1", "identity_l1", "loss_adv")
        return {**dict(zip(names, stats.tolist(), strict=True)), "lr": cfg.lr_g * factor}

    def compile(self) -> list[str]:
        """``torch.compile`` the networks' forward calls (not the modules, so checkpoints keep plain names)."""
        self.calls = {name: torch.compile(net) for name, net in self.nets.items()}
        return []

    # -- state --------------------------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return self.nets

    def extra_state(self) -> tuple[dict[str, Tensor], dict]:
        tensors: dict[str, Tensor] = {}
        for key, pool in self.pools.items():
            tensors.update(pool.state(f"pool.{key}"))
        return tensors, {}

    def load_extra_state(self, tensors: dict[str, Tensor], meta: dict) -> None:
        for key, pool in self.pools.items():  # the checkpoint holds rank 0's pools; other ranks start fresh ones
            like = self.images[key][:1].to(self.engine.device)
            pool.load(f"pool.{key}", tensors if self.engine.rank == 0 else {}, like)

    @torch.no_grad()
    def translate(self, x: Tensor, direction: str) -> Tensor:
        """Model-space images through one generator in eval mode, on the CPU as float32."""
        net = self.nets["G_ab" if direction == "a2b" else "G_ba"]
        was = net.training
        net.eval()
        out = torch.cat([net(self.engine.to_device(x[i : i + 16])).float().cpu() for i in range(0, len(x), 16)])
        net.train(was)
        return out
