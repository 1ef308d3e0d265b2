"""The Sampler: buffered batches, reproducible items, pickling, per-worker streams, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import ganaug
from ganaug.errors import GanaugError
from ganaug.generation.sampling import Sampler, derive_seed


class Draws(Dataset):
    """Item i = the next buffered sample of class i % 3."""

    def __init__(self, sampler: Sampler, n: int = 8):
        self.sampler, self.n = sampler, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.sampler.draw(i % 3)


def test_draw_is_buffered(tiny_run, monkeypatch):
    sampler = Sampler(tiny_run, seed=0, batch_size=16)
    calls = []
    original = sampler.generator.generate
    monkeypatch.setattr(sampler.generator, "generate", lambda *a, **k: calls.append(len(a[0])) or original(*a, **k))
    samples = [sampler.draw("square") for _ in range(33)]
    assert calls == [16, 16, 16]  # 33 draws of one class: three batched forwards
    d = sampler.data
    assert samples[0].shape == (d.channels, d.height, d.width)
    stacked = torch.stack(samples)
    assert stacked.min() >= -1 and stacked.max() <= 1
    assert len({s.sum().item() for s in samples}) == 33  # all different
    assert sampler.draw_many([0, 2, "triangle"]).shape == (3, d.channels, d.height, d.width)


def test_reuse_goes_through_a_pool_several_times_in_new_orders(tiny_run, monkeypatch):
    sampler = Sampler(tiny_run, seed=0, batch_size=8, reuse=3)
    calls = []
    original = sampler.generator.generate
    monkeypatch.setattr(sampler.generator, "generate", lambda *a, **k: calls.append(len(a[0])) or original(*a, **k))
    passes = [sampler.take("square", 8) for _ in range(4)]
    assert calls == [8, 8]  # 32 draws: one pool used 3 times, then a fresh one
    key = lambda batch: sorted(x.sum().item() for x in batch)  # noqa: E731
    assert key(passes[0]) == key(passes[1]) == key(passes[2]) != key(passes[3])
    assert not torch.equal(passes[0], passes[1])  # a new order each pass
    with pytest.raises(GanaugError, match="reuse must be an integer >= 1"):
        Sampler(tiny_run, reuse=0)


def test_generation_precision_follows_the_data(tiny_run, monkeypatch):
    from ganaug.training import engine

    g = ganaug.load_generator(tiny_run)
    z, y = torch.randn(4, g.latent_dim), torch.tensor([0, 1, 2, 0])
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    fast = g.forward(z, y)
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: False)
    exact = g.forward(z, y)
    assert fast.dtype == exact.dtype == torch.float32 and 0 < (fast - exact).abs().max() < 0.1
    g.data.dtype = "uint16"  # 16-bit data keeps float32 even where bf16 is native
    monkeypatch.setattr(engine, "cpu_has_bf16", lambda: True)
    assert torch.equal(g.forward(z, y), exact)


def test_stream_follows_torch_seed_without_seed(tiny_run):
    sampler = Sampler(tiny_run)
    torch.manual_seed(5)
    first = Sampler(tiny_run).draw(0)
    torch.manual_seed(5)
    assert torch.equal(Sampler(tiny_run).draw(0), first)
    assert torch.equal(Sampler(tiny_run, seed=1).draw(0), Sampler(tiny_run, seed=1).draw(0))
    assert not torch.equal(Sampler(tiny_run, seed=1).draw(0), Sampler(tiny_run, seed=2).draw(0))
    assert sampler.seed is None


def test_items_reproducible_in_any_order_and_block_size(tiny_run):
    a = Sampler(tiny_run, seed=3, block_size=4)
    b = Sampler(tiny_run, seed=3, block_size=64)
    forward = [a.item(1, k) for k in range(10)]
    backward = [b.item("square", k) for k in reversed(range(10))][::-1]
    for x, y in zip(forward, backward, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=0)
    assert not torch.allclose(a.item(1, 0), Sampler(tiny_run, seed=4).item(1, 0))
    assert torch.equal(a.items(1, [2, 5]), torch.stack([a.item(1, 2), a.item(1, 5)]))
    assert a.items(0, []).shape[0] == 0


def test_item_seed_reproduces_with_generate(tiny_run):
    sampler = Sampler(tiny_run, seed=7)
    seed = sampler.item_seed("triangle", 5)
    assert seed == derive_seed(7, 2, 5) and 0 <= seed < 2**63
    again = ganaug.load_generator(tiny_run).generate(["triangle"], seed=seed)[0]
    torch.testing.assert_close(again, sampler.item("triangle", 5), atol=1e-5, rtol=0)


def test_cache_is_bounded(tiny_run):
    sampler = Sampler(tiny_run, seed=0, block_size=2, cache_mb=0.001)
    for k in range(20):
        sampler.item(0, k)
    assert len(sampler._cache) <= 2


def test_pickle_drops_generator_and_reloads(tiny_run):
    sampler = Sampler(tiny_run, seed=1)
    expected = sampler.item(2, 3)
    state = sampler.__getstate__()
    assert state["_generator"] is None
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone._generator is None
    assert torch.equal(clone.item(2, 3), expected)
    assert clone._generator is not None


def test_sampler_from_generator_object(tiny_run):
    g = ganaug.load_generator(tiny_run)
    sampler = pickle.loads(pickle.dumps(Sampler(g, seed=0)))
    assert sampler.class_names == ["circle", "square", "triangle"]
    torch.testing.assert_close(sampler.item(0, 0), Sampler(tiny_run, seed=0).item(0, 0))


def test_workers_get_distinct_reproducible_streams(tiny_run):
    def run() -> torch.Tensor:
        loader = DataLoader(Draws(Sampler(tiny_run, seed=11), n=12), batch_size=3, num_workers=2)
        return torch.cat(list(loader))

    out = run()
    flat = out.flatten(1)
    # worker 0 serves batches 0 and 2, worker 1 batches 1 and 3; the same class in both workers must differ
    assert not torch.allclose(flat[0], flat[3])
    assert len({round(v, 4) for v in flat.sum(1).tolist()}) == 12
    torch.testing.assert_close(run(), out)


def test_worker_reuses_forked_sampler_state_freshly(tiny_run):
    sampler = Sampler(tiny_run, seed=11)
    sampler.draw(0)  # buffers filled in the main process must not be shared by the workers
    loader = DataLoader(Draws(sampler, n=6), batch_size=3, num_workers=2)
    out = torch.cat(list(loader)).flatten(1)
    assert not torch.allclose(out[0], out[3])


@pytest.mark.parametrize(
    "source, message",
    [("no/such/model", "does not exist"), (".", "not a ganaug model"), ("weights.pt", "pickled weights")],
)
def test_bad_sources(source, message):
    with pytest.raises(GanaugError, match=message):
        Sampler(source)


def test_bad_options_and_labels(tiny_run):
    with pytest.raises(GanaugError, match="seed"):
        Sampler(tiny_run, seed=-1)
    with pytest.raises(GanaugError, match="batch_size"):
        Sampler(tiny_run, batch_size=0)
    with pytest.raises(GanaugError, match="truncation"):
        Sampler(tiny_run, truncation=0)
    sampler = Sampler(tiny_run, seed=0)
    with pytest.raises(GanaugError, match="out of range"):
        sampler.draw(3)
    with pytest.raises(GanaugError, match="not one of this generator's classes"):
        sampler.draw("hexagon")
    with pytest.raises(GanaugError, match="one-hot"):
        sampler.draw(torch.tensor([0.0, 1.0, 0.0]))
    with pytest.raises(GanaugError, match="not a class index"):
        sampler.draw(None)
    with pytest.raises(GanaugError, match="index"):
        sampler.item(0, -1)
    assert sampler.class_index(torch.tensor(2)) == 2 and sampler.class_index(np.int64(1)) == 1
