"""The model card: Hub metadata (YAML), the sections a user needs, and the registry's published cards."""

from __future__ import annotations

import copy
import json

import pytest

from ganaug.hub.card import GENERATED_MARKER, render_card

from .helpers import REPO
from .hub_server import _validate_yaml

yaml = pytest.importorskip("yaml")


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("\n---\n", 1)[0][4:])


@pytest.fixture(scope="module")
def config(tiny_run) -> dict:
    return json.loads((tiny_run / "export" / "config.json").read_text())


def test_card_metadata_without_metrics(config):
    card = render_card(config, "tiny", repo_id="me/tiny")
    meta = front_matter(card)
    assert meta["library_name"] == "ganaug" and meta["pipeline_tag"] == "unconditional-image-generation"
    assert {"ganaug", "gan", "data-augmentation", "image"} <= set(meta["tags"])
    assert meta["license"] == "other" and "model-index" not in meta and "datasets" not in meta
    for section in ("## Classes", "## Training", "## Measured quality", "## Use", "## Intended use and limits"):
        assert section in card
    assert config["training"]["command"] in card and "![Samples" in card and "(samples.png)" in card
    assert 'ganaug.load_generator("hf-hub:me/tiny")' in card and "GANAugment(" in card
    assert "Not measured yet" in card and GENERATED_MARKER in card
    assert "More Information Needed" not in card and "Not for diagnosis" not in card
    assert "progressive growing" not in card and "drift penalty" not in card  # a ProGAN export's lines only
    assert _validate_yaml(card)[1] == 200


def test_card_gives_cpu_time_and_says_when_the_machine_was_busy(config):
    assert config["training"]["cpu_seconds"] >= 0 and config["training"]["cpu_cores"] >= 1
    cfg = copy.deepcopy(config)
    cfg["training"].update(device_name="CPU (2 threads)", train_seconds=600, cpu_seconds=480, cpu_cores=2)
    cfg["training"]["load_average"] = 3.4
    busy = render_card(cfg, "tiny")
    assert "in 10.0 min of wall-clock time on CPU (2 threads)" in busy and "(8.0 min of CPU time)" in busy
    assert "the machine was busy (load average 3.4 on 2 cores), so that time overstates the cost" in busy
    cfg["training"]["load_average"] = 0.9
    assert "busy" not in render_card(cfg, "tiny")
    cfg["training"]["device_name"] = "NVIDIA H200"
    assert "of CPU time" not in render_card(cfg, "tiny")


def test_card_with_metrics_medical_and_hub_data(config):
    cfg = copy.deepcopy(config)
    cfg["training"].update(preset="medical", license="cc-by-4.0")
    cfg["data"]["source"] = "hf:someone/scans"
    cfg["metrics"] = {"fid": 41.5, "downstream": {"balanced_accuracy": {"mean": 0.81, "ci95": [0.78, 0.84]}}}
    cfg["card"] = {"classes": {"circle": "round things"}, "notes": "trained for a test"}
    card = render_card(cfg, "scans")
    meta = front_matter(card)
    assert meta["license"] == "cc-by-4.0" and meta["datasets"] == ["someone/scans"] and "medical" in meta["tags"]
    results = meta["model-index"][0]["results"]
    kinds = {r["task"]["type"]: r for r in results}
    assert kinds["unconditional-image-generation"]["metrics"][0] == {"type": "fid", "value": 41.5, "name": "fid"}
    assert kinds["image-classification"]["metrics"][0]["value"] == 0.81
    assert all(r["dataset"] == {"name": "someone/scans", "type": "someone/scans"} for r in results)
    assert "| 0 | `circle` | round things | 6 |" in card and "| downstream.balanced_accuracy | 0.81 |" in card
    assert "**Not for diagnosis.**" in card and "trained for a test" in card
    assert _validate_yaml(card)[1] == 200


@pytest.mark.parametrize("folder", sorted(p for p in (REPO / "pretrained").iterdir() if p.is_dir()), ids=str)
def test_registry_cards(folder):
    card = (folder / "README.md").read_text()
    meta = front_matter(card)
    entry = json.loads((folder / "entry.json").read_text())
    assert meta["library_name"] == "ganaug" and meta["license"] != "other"
    assert entry["recipe"]["command"] in card and (folder / "samples.png").is_file()
    assert "More Information Needed" not in card and _validate_yaml(card)[1] == 200
    if entry["model"]["preset"] == "medical":
        assert "**Not for diagnosis.**" in card


def test_card_quotes_names_in_the_code_it_shows(config):
    import copy
    import shlex

    hostile = copy.deepcopy(config)
    hostile["data"]["class_names"] = ["x; rm -rf ~", "b", "c"]
    source = 'my "model" $(id)'
    card = render_card(hostile, "tiny", source=source)
    assert f"ganaug sample {shlex.quote(source)} --class 'x; rm -rf ~' --n 16" in card
    assert 'ganaug.load_generator("my \\"model\\" $(id)")' in card
    assert "--class x; rm" not in card


def test_cards_are_built_from_public_card_helpers_only():
    """Other modules import no private name of ganaug.hub.card (the Hub metadata goes through ModelCardData there)."""
    import ast

    for path in (REPO / "ganaug").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("card") and node.level:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from ganaug.hub.card"
