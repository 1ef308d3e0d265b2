"""Adaptive discriminator augmentation: raise p when D is overconfident on real images, lower it otherwise."""

from __future__ import annotations


class AdaptiveStrength:
    """The ADA controller: tracks r_t = E[sign(D(real))] and moves p toward keeping r_t at ``target``.

    With ``fixed`` set, p stays at that value. State is plain floats so it goes into a JSON checkpoint.

    Example:
        >>> ada = AdaptiveStrength(target=0.6, kimg=100, interval=4)
        >>> ada.accumulate(sign_sum=64.0, count=64); ada.maybe_update(step=4, batch_size=64)
        >>> ada.p > 0
        True
    """

    def __init__(self, target: float = 0.6, kimg: float = 100.0, interval: int = 4, fixed: float | None = None):
        self.target = target
        self.kimg = kimg
        self.interval = interval
        self.fixed = fixed
        self.p = 0.0 if fixed is None else float(fixed)
        self.sign_sum = 0.0
        self.count = 0.0
        self.last_rt = 0.0

    def accumulate(self, sign_sum: float, count: float) -> None:
        self.sign_sum += sign_sum
        self.count += count

    def maybe_update(self, step: int, batch_size: int) -> None:
        if self.fixed is not None or step % self.interval != 0 or self.count == 0:
            return
        self.last_rt = self.sign_sum / self.count
        adjust = 1.0 if self.last_rt > self.target else -1.0
        self.p = min(1.0, max(0.0, self.p + adjust * batch_size * self.interval / (self.kimg * 1000)))
        self.sign_sum = 0.0
        self.count = 0.0

    def state_dict(self) -> dict:
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "last_rt": self.last_rt}

    def load_state_dict(self, state: dict) -> None:
        self.p = float(state["p"])
        self.sign_sum = float(state["sign_sum"])
        self.count = float(state["count"])
        self.last_rt = float(state.get("last_rt", 0.0))
