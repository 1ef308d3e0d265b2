"""The Sampler behind GANAugment and the dataset wrappers: batched, buffered and seeded generation.

Two ways to draw samples, both batched so that one sample costs a fraction of a forward pass:

- a **stream** (``draw``): per-class buffers refilled ``batch_size`` samples at a time from a random stream that is
  distinct in every DataLoader worker. Used by the transforms, where no index exists.
- **recorded seeds** (``seeded``): the sample of a ``(class, seed)`` pair, a function of that pair alone (and the
  recipe's spread and filter), generated ``batch_size`` pairs at a time. Used by the transforms, which draw the seeds
  where torchvision and albumentations draw their parameters, so the libraries' seeds and replay records reproduce it.
- **indexed items** (``item`` / ``items``): sample ``k`` of class ``c`` has its own noise seed derived from
  ``(seed, c, k)``, so it is the same whatever the access order, process or worker. Items are generated
  ``block_size`` at a time and the blocks are cached. Used by the dataset wrappers and the CLI; the per-item seed
  (``item_seed``) reproduces the sample with ``ganaug sample MODEL --class C --n 1 --seed SEED``.

The generator is loaded in the constructor (so a bad source fails at once), dropped when the sampler is pickled and
loaded again on first use in each DataLoader worker.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..errors import GanaugError, GanaugValueError
from ..hub.sources import resolve_model
from .generator import Generator

SEED_BITS = 63
FILTER_TRIES = 8  # candidates per recorded seed under a recipe's teacher filter (the last one is kept if none passes)


def derive_seed(*keys: int) -> int:
    """A 63-bit seed derived from non-negative integers with numpy's ``SeedSequence`` (well mixed, order-sensitive)."""
    state = np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)[0]
    return int(state) >> (64 - SEED_BITS)


def worker_id() -> int:
    """The DataLoader worker id of this process, or -1 in the main process."""
    info = torch.utils.data.get_worker_info()
    return -1 if info is None else int(info.id)


def private_seed(seed: int) -> tuple[tuple[int, int, int], int]:
    """The owner (process, DataLoader worker, the worker's torch seed) and the seed of a ``seed=`` private stream in
    this process. In a worker the DataLoader's per-epoch worker seed is mixed in, so each epoch's fresh workers draw
    new samples (reproducibly, with a seeded loader) instead of repeating the first epoch's."""
    wid = worker_id()
    owner = (os.getpid(), wid, torch.initial_seed() if wid >= 0 else 0)
    return owner, derive_seed(seed, wid + 1, owner[2])


def _for_sampling(g: Generator, device: str) -> Generator:
    """``g`` on ``device`` in channels-last memory format (faster batched convolutions with oneDNN and cuDNN). Every
    sampler computes in this one format, whether given a folder or a loaded generator: on some CPUs the two formats'
    kernels differ in the last bits, and a recipe's items must be the same bits wherever they are drawn."""
    g.to(device)
    g.net.to(memory_format=torch.channels_last)
    return g


class Sampler:
    """Batched, buffered sampling from a ganaug generator; picklable, loads the generator lazily in each worker.

    ``codes`` (models fitted with ``--info-codes``): ``None`` draws the latent codes at random as in training,
    ``"sweep"`` on the evenly spaced values of the traversal grids, ``{name: value}`` fixes some (see
    ``Generator.noise``); a sample stays a function of its seed.

    ``seed=None`` follows torch's random state (``torch.manual_seed`` in the main process, the DataLoader's per-worker
    seeds in workers) for the stream, and counts as 0 for indexed items.

    Example:
        >>> sampler = Sampler("runs/digits", seed=0)  # doctest: +SKIP
        >>> # the next sample of class "3" from the buffered stream, C x H x W in [-1, 1]
        >>> sampler.draw("3").shape  # doctest: +SKIP
        >>> # sample 17 of class "3": the same for the same seed, in any process
        >>> sampler.item("3", 17)  # doctest: +SKIP
    """

    def __init__(
        self,
        source: str | Path | Generator,
        *,
        seed: int | None = None,
        truncation: float | None = None,
        spread: float = 1.0,
        device: str = "cpu",
        batch_size: int = 64,
        block_size: int = 64,
        cache_mb: float = 256,
        reuse: int = 1,
        codes: dict | str | None = None,
    ):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise GanaugValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        if truncation is not None and not truncation > 0:
            raise GanaugValueError(f"truncation must be > 0 (or None), got {truncation!r}")
        for name, value in (("batch_size", batch_size), ("block_size", block_size), ("reuse", reuse)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise GanaugValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.seed = None if seed is None else int(seed)
        self.truncation = truncation
        if isinstance(spread, bool) or not isinstance(spread, (int, float)) or not spread > 0:
            raise GanaugError(f"spread must be > 0, got {spread!r}")
        self.spread = float(spread)
        self.accept: Callable[[torch.Tensor, int], torch.Tensor] | None = None  # a stream filter (a recipe's)
        self.device = str(device)
        self.batch_size = int(batch_size)
        self.block_size = int(block_size)
        self.reuse = int(reuse)
        self.cache_bytes = int(cache_mb * 2**20)
        if isinstance(source, Generator):
            self.source = source.source
            self._folder = _local_folder(source.source)
            self._generator: Generator | None = _for_sampling(source, self.device)
        else:
            self.source = str(source)
            self._folder = resolve_model(source)
            self._generator = self._load()
        self.codes = self._generator.check_codes(codes)  # InfoGAN codes: None (random), "sweep" or fixed values
        self._reset_process_state()

    # -- pickling and processes ------------------------------------------------------------------------------
    def _reset_process_state(self) -> None:
        self._owner = (os.getpid(), worker_id())
        self._stream: torch.Generator | None = None
        self._buffers: dict[int, tuple[torch.Tensor, int, int]] = {}
        self._prepared: dict[tuple[int, Hashable], deque] = {}
        self._cache: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()
        self._cached_bytes = 0
        self._seeded: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._folder is not None:
            state["_generator"] = None  # reloaded from the folder on first use in the new process
        state.update(_stream=None, _buffers={}, _prepared={}, _cache=OrderedDict(), _cached_bytes=0, _owner=None)
        state["_seeded"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _check_process(self) -> None:
        """New process or worker (pickled or forked): fresh buffers, cache and stream; the network is reused on CPU."""
        owner = (os.getpid(), worker_id())
        if owner != self._owner:
            if owner[0] != (self._owner or (None,))[0] and self.device != "cpu" and self._folder is not None:
                self._generator = None  # an accelerator context does not survive a fork
            self._reset_process_state()

    @property
    def generator(self) -> Generator:
        """The loaded generator (loaded here on first use after unpickling)."""
        if self._generator is None:
            self._generator = self._load()
        return self._generator

    def _load(self) -> Generator:
        return _for_sampling(Generator.from_folder(self._folder, source=self.source), self.device)

    # -- description ----------------------------------------------------------------------------------------
    @property
    def data(self) -> DataConfig:
        return self.generator.data

    @property
    def class_names(self) -> list[str]:
        return self.generator.class_names

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    def class_index(self, label: Any) -> int:
        """A class given as an index, a name, or a one-element tensor/array; unknown classes are a GanaugError."""
        if type(label) is int and 0 <= label < self.generator.num_classes:
            return label
        if isinstance(label, (torch.Tensor, np.ndarray)):
            if (label.numel() if isinstance(label, torch.Tensor) else label.size) != 1:
                raise GanaugError(
                    f"the label has shape {tuple(label.shape)}; one class index per sample is needed "
                    "(not a one-hot or soft label)"
                )
            label = label.item()
        if isinstance(label, float) and label.is_integer():
            label = int(label)
        if isinstance(label, bool) or not isinstance(label, (int, np.integer, str)):
            raise GanaugError(f"label {label!r} is not a class index or name; classes: {', '.join(self.class_names)}")
        return self.generator.class_index(label)

    # -- the buffered stream --------------------------------------------------------------------------------
    def _stream_generator(self) -> torch.Generator:
        if self._stream is None:
            base = self.seed if self.seed is not None else torch.initial_seed()
            self._stream = torch.Generator().manual_seed(derive_seed(base, self._owner[1] + 1))
        return self._stream

    def take(self, label: Any, n: int) -> torch.Tensor:
        """The next ``n`` samples of class ``label`` (N x C x H x W) from its buffer, refilled a batch at a time.

        With ``reuse=R`` a buffer is gone through ``R`` times, in a new random order each pass, before it is
        regenerated: generation costs ``1/R`` as much (a per-class pool of ``batch_size`` samples, refreshed)."""
        self._check_process()
        c = self.class_index(label)
        parts = []
        while n > 0:
            buffer, pos, passes = self._buffers.get(c, (None, 0, 0))
            if buffer is not None and pos >= len(buffer) and passes < self.reuse:
                order = torch.randperm(len(buffer), generator=self._stream_generator())
                buffer, pos, passes = buffer[order], 0, passes + 1
            if buffer is None or pos >= len(buffer):
                seed = int(torch.randint(2**62, (1,), generator=self._stream_generator()))
                labels = [c] * self.batch_size
                buffer = self.generator.generate(
                    labels, seed=seed, truncation=self.truncation, spread=self.spread, codes=self.codes
                )
                buffer, pos, passes = (buffer if self.accept is None else self.accept(buffer, c)), 0, 1
            k = min(n, len(buffer) - pos)
            parts.append(buffer[pos : pos + k])
            self._buffers[c] = (buffer, pos + k, passes)
            n -= k
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def draw(self, label: Any) -> torch.Tensor:
        """The next sample of class ``label`` from its buffer: C x H x W."""
        return self.take(label, 1)[0]

    def draw_prepared(self, label: Any, key: Hashable, prepare: Callable[[torch.Tensor], Sequence[Any]]) -> Any:
        """The next sample of class ``label`` after ``prepare``, a batched conversion named by ``key`` (for example
        to a target size), which is applied to ``batch_size`` samples at a time and queued."""
        c = self.class_index(label)
        queue = self._prepared.get((c, key)) if (os.getpid(), worker_id()) == self._owner else None
        if not queue:
            batch = self.take(c, self.batch_size)  # resets the process state first if this is a new worker
            queue = self._prepared[(c, key)] = deque(prepare(batch))
        return queue.popleft()

    def draw_many(self, labels: Iterable[Any]) -> torch.Tensor:
        """One buffered sample per label: N x C x H x W."""
        samples = [self.draw(label) for label in labels]
        if not samples:
            d = self.data
            return torch.empty(0, d.channels, d.height, d.width)
        return torch.stack(samples)

    # -- recorded seeds -------------------------------------------------------------------------------------
    def seeded(self, labels: Sequence[Any], seeds: Sequence[int]) -> torch.Tensor:
        """The samples of recorded ``(class, seed)`` pairs, N x C x H x W: each one a function of its pair alone, so
        a replayed pair gives the same sample; new pairs are generated ``batch_size`` at a time and the latest
        ``batch_size * (classes + 1)`` are kept (a sample's several images, a reuse pool, a replay)."""
        self._check_process()
        keys = [(self.class_index(c), int(s)) for c, s in zip(labels, seeds, strict=True)]
        if not keys:
            d = self.data
            return torch.empty(0, d.channels, d.height, d.width)
        new = [k for k in dict.fromkeys(keys) if k not in self._seeded]
        for start in range(0, len(new), self.batch_size):
            part = new[start : start + self.batch_size]
            self._seeded.update(zip(part, self._generate_seeded(part), strict=True))
        for k in keys:
            self._seeded.move_to_end(k)
        out = torch.stack([self._seeded[k] for k in keys])
        while len(self._seeded) > self.batch_size * (self.num_classes + 1):
            self._seeded.popitem(last=False)
        return out

    def _generate_seeded(self, keys: list[tuple[int, int]]) -> torch.Tensor:
        """One forward per round: candidate 0 of a pair has its own seed; under a teacher filter a rejected pair
        tries ``derive_seed(seed, i)`` next, up to ``FILTER_TRIES`` candidates (the last is kept)."""
        g = self.generator
        ys = torch.tensor([c for c, _ in keys], dtype=torch.long)
        todo, out = list(range(len(keys))), None
        for attempt in range(FILTER_TRIES):
            seeds = [keys[i][1] if attempt == 0 else derive_seed(keys[i][1], attempt) for i in todo]
            z = torch.cat(
                [g.noise(1, torch.Generator().manual_seed(s), self.truncation, self.spread, self.codes) for s in seeds]
            )
            x = g.forward(z, ys[todo])
            out = x if out is None else out.index_copy_(0, torch.tensor(todo), x)
            teacher = getattr(self.accept, "teacher", None)
            if teacher is None or attempt == FILTER_TRIES - 1:
                break
            keep = torch.ones(len(todo), dtype=torch.bool)
            for c in ys[todo].unique().tolist():
                rows = (ys[todo] == c).nonzero().flatten()
                keep[rows] = teacher.accepts(x[rows], c, self.accept.threshold).cpu()
            todo = [i for i, ok in zip(todo, keep.tolist(), strict=True) if not ok]
            if not todo:
                break
        return out

    # -- indexed items --------------------------------------------------------------------------------------
    def item_seed(self, label: Any, index: int) -> int:
        """The noise seed of item ``index`` of class ``label`` (``ganaug sample ... --n 1 --seed`` reproduces it)."""
        return derive_seed(self.seed or 0, self.class_index(label), index)

    def _item_generator(self, c: int, k: int) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(self.seed or 0, c, k))

    def _block(self, c: int, b: int) -> torch.Tensor:
        key = (c, b)
        block = self._cache.get(key)
        if block is not None:
            self._cache.move_to_end(key)
            return block
        g = self.generator
        start = b * self.block_size
        z = torch.cat(
            [
                g.noise(
                    1,
                    torch.Generator().manual_seed(derive_seed(self.seed or 0, c, k)),
                    self.truncation,
                    self.spread,
                    self.codes,
                )
                for k in range(start, start + self.block_size)
            ]
        )
        y = torch.full((self.block_size,), c, dtype=torch.long)
        block = g.forward(z, y)
        self._cache[key] = block
        self._cached_bytes += block.numel() * block.element_size()
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.numel() * old.element_size()
        return block

    def item(self, label: Any, index: int) -> torch.Tensor:
        """Item ``index`` (>= 0) of class ``label``: C x H x W in [-1, 1], reproducible from (seed, class, index)."""
        self._check_process()
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise GanaugError(f"item index must be an integer >= 0, got {index!r}")
        c = self.class_index(label)
        return self._block(c, int(index) // self.block_size)[int(index) % self.block_size]

    def items(self, label: Any, indices: Sequence[int]) -> torch.Tensor:
        """Several items of one class: N x C x H x W."""
        samples = [self.item(label, k) for k in indices]
        if not samples:
            d = self.data
            return torch.empty(0, d.channels, d.height, d.width)
        return torch.stack(samples)

    def __repr__(self) -> str:
        return (
            f"Sampler(source={self.source!r}, seed={self.seed}, truncation={self.truncation}, device={self.device!r}, "
            f"batch_size={self.batch_size})"
        )


def _local_folder(source: str) -> Path | None:
    """The export folder a loaded Generator came from, if it can be found again (for reloading in workers)."""
    if not source:
        return None
    try:
        return resolve_model(source)
    except GanaugError:
        return None


__all__ = ["Sampler", "derive_seed", "worker_id"]
