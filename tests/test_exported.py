"""The exported-model base: constructor arguments recorded as the config, one save/load pair, one list of pickles."""

from __future__ import annotations

import inspect
import json
import re

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ganaug.errors import GanaugError
from ganaug.exported import load_exported, records_arch_args, save_exported
from ganaug.fileio import PICKLE_SUFFIXES


class Tiny(nn.Module):
    @records_arch_args(lambda a: {**a, "width": int(a["width"] or 4)})
    def __init__(self, channels: int, width: int = 0, codes: str = "", mode: str = "plain"):
        super().__init__()
        self.conv = nn.Conv2d(channels, width, 3)
        self.norm = nn.BatchNorm2d(width)


def build(config: dict) -> Tiny:
    return Tiny(**config["arch_args"])


def saved(tmp_path, net: nn.Module | None = None) -> tuple[nn.Module, dict]:
    net = net or Tiny(3)
    config = {"arch": "tiny", "arch_args": net.arch_args}
    save_exported(tmp_path, net.state_dict(), "net.json", config, "net.safetensors", {"ganaug": "test"})
    return net, json.loads((tmp_path / "net.json").read_text())


def test_constructor_arguments_become_the_config():
    net = Tiny(3)
    assert net.arch_args == {"channels": 3, "width": 4, "mode": "plain"}  # resolved; the empty default left out
    assert list(Tiny(2, 8, "c", mode="x").arch_args) == ["channels", "width", "codes", "mode"]  # signature order
    assert list(inspect.signature(Tiny).parameters) == ["channels", "width", "codes", "mode"]  # signature kept
    assert Tiny(**net.arch_args).arch_args == net.arch_args  # the config rebuilds the same network
    with pytest.raises(TypeError, match="named arguments"):
        records_arch_args()(lambda self, *args: None)


def test_round_trip(tmp_path):
    net, config = saved(tmp_path)
    assert config["arch_args"] == net.arch_args and list(config) == ["arch", "arch_args", "sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", config["sha256"]["net.safetensors"])
    with open(tmp_path / "net.safetensors", "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    assert header["__metadata__"] == {"format": "pt", "ganaug": "test"}
    back_config, back = load_exported(tmp_path, "net.json", "net.safetensors", build)
    assert back_config == config and isinstance(back, Tiny)
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in net.state_dict().items())


def test_several_networks_in_one_file_by_prefix(tmp_path):
    a, b = Tiny(1), Tiny(2, 6)
    state = {**{f"a.{k}": v for k, v in a.state_dict().items()}, **{f"b.{k}": v for k, v in b.state_dict().items()}}
    config = {"arch": "pair", "a": a.arch_args, "b": b.arch_args}
    save_exported(tmp_path, state, "pair.json", config, "pair.safetensors")
    _, nets = load_exported(
        tmp_path, "pair.json", "pair.safetensors", lambda c: {"a.": Tiny(**c["a"]), "b.": Tiny(**c["b"])}
    )
    assert torch.equal(nets["b."].conv.weight, b.conv.weight) and torch.equal(nets["a."].conv.bias, a.conv.bias)


def test_a_tampered_file_is_refused_naming_it(tmp_path):
    saved(tmp_path)
    weights = tmp_path / "net.safetensors"
    state = load_file(weights)
    state["conv.bias"] = state["conv.bias"] + 1
    save_file(state, weights)
    with pytest.raises(GanaugError, match=r"net.safetensors does not match the SHA-256 recorded in .*net.json"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)
    _, config = saved(tmp_path)
    config["sha256"]["net.safetensors"] = "0" * 64  # the recorded checksum changed instead
    (tmp_path / "net.json").write_text(json.dumps(config))
    with pytest.raises(GanaugError, match=r"net.safetensors does not match the SHA-256 recorded in .*net.json"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)


def test_an_unknown_or_missing_tensor_is_refused_by_strict_loading(tmp_path):
    net = Tiny(3)
    extra = {**net.state_dict(), "head.weight": torch.zeros(2)}
    save_exported(tmp_path, extra, "net.json", {"arch": "tiny", "arch_args": net.arch_args}, "net.safetensors")
    with pytest.raises(GanaugError, match=r"weights in .*net.safetensors do not match .*net.json .*head.weight"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)
    fewer = {k: v for k, v in net.state_dict().items() if k != "norm.running_var"}
    save_exported(tmp_path, fewer, "net.json", {"arch": "tiny", "arch_args": net.arch_args}, "net.safetensors")
    with pytest.raises(GanaugError, match=r"do not match .*norm.running_var: config \(4,\) vs file None"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)


def test_missing_or_bad_files_are_one_clear_error(tmp_path):
    with pytest.raises(GanaugError, match=r"is not a ganaug export: net.json is missing"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)
    saved(tmp_path)
    (tmp_path / "net.json").write_text("{not json")
    with pytest.raises(GanaugError, match=r"net.json is not valid JSON"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)
    saved(tmp_path)
    with pytest.raises(GanaugError, match=r"net.json is not a valid ganaug config \(KeyError\('data'\)\)"):
        load_exported(tmp_path, "net.json", "net.safetensors", build, check=lambda c: c["data"])
    config = json.loads((tmp_path / "net.json").read_text())
    (tmp_path / "net.json").write_text(json.dumps({**config, "arch_args": {"channels": 3, "colour": 1}}))
    with pytest.raises(GanaugError, match=r"net.json describes a network that cannot be built \(arch 'tiny'\)"):
        load_exported(tmp_path, "net.json", "net.safetensors", build)


def test_pickles_are_refused_naming_the_accepted_formats(tmp_path):
    net = Tiny(3)
    torch.save(net.state_dict(), tmp_path / "net.pth")
    (tmp_path / "net.json").write_text(json.dumps({"arch": "tiny", "arch_args": net.arch_args}))
    with pytest.raises(GanaugError) as info:
        load_exported(tmp_path, "net.json", "net.pth", build)
    message = str(info.value)
    assert "net.pth" in message and "can run code" in message and "config.json + model.safetensors" in message
    assert "/".join(PICKLE_SUFFIXES) in message  # the one list, not a hand-typed one
    with pytest.raises(GanaugError, match="can run code"):
        save_exported(tmp_path, net.state_dict(), "net.json", {}, "net.ckpt")


def test_model_sources_refuse_with_the_one_list(tmp_path):
    from ganaug.hub.sources import refuse_unsafe

    with pytest.raises(GanaugError) as info:
        refuse_unsafe(tmp_path / "weights.joblib")
    assert "/".join(PICKLE_SUFFIXES) in str(info.value) and "Accepted MODEL forms" in str(info.value)


def test_networks_record_the_same_arch_args_as_before():
    import numpy as np

    from ganaug.downstream.classifier import SmallResNet
    from ganaug.models import DcganGenerator, ProganDiscriminator

    g = DcganGenerator(np.int64(16), 3, 3, 16, 16, info_codes="cont:1, cat:3")
    expected = {"latent_dim": 16, "num_classes": 3, "channels": 3, "height": 16, "width": 16, "ch": 40}
    assert g.arch_args == {**expected, "upsample": "deconv", "info_codes": "cat:3,cont:1"}
    assert list(g.arch_args) == [*expected, "upsample", "info_codes"] and type(g.arch_args["latent_dim"]) is int
    assert ProganDiscriminator(16, 3, 3, 16, 16, ch=8).arch_args == {**expected, "ch": 8}
    assert list(inspect.signature(DcganGenerator).parameters)[:6] == list(expected)
    old = {"channels": 1, "num_classes": 2, "height": 64, "width": 64, "base": 32}  # saved before the strided stem
    rebuilt = SmallResNet.from_config(old)
    assert rebuilt.config == {**old, "stem_stride": 1} and rebuilt.num_features == 256
    net = SmallResNet(1, 2, 64, 64)
    assert net.config == net.arch_args == {**old, "base": 16, "stem_stride": 2}
    assert net(torch.zeros(3, 1, 64, 64)).shape == (3, 2) and net.stem[0].stride == (2, 2)
    small = SmallResNet(1, 2, 28, 28)  # 32 pixels and under: as before, one stride-1 convolution in the stem
    assert small.config["stem_stride"] == 1 and len(small.stem) == 3 and small.stem[0].stride == (1, 1)
    assert SmallResNet.from_config(net.config).config == net.config
    with pytest.raises(GanaugError, match="arch argument ch=-1"):
        DcganGenerator(16, 3, 3, 16, 16, ch=-1)
