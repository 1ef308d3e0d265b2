"""Where ``ganaug evaluate`` writes: ``evaluation.json``, ``evaluation.md``, and the model card's metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..downstream.uplift import METRICS, PRIMARY, fmt, markdown
from ..fileio import check_writable, read_json, write_json, write_text

EVALUATION_JSON = "evaluation.json"
EVALUATION_MD = "evaluation.md"
CARD_NOTE = "Measured with `ganaug evaluate`"


def output_folder(model: Any, out: str | Path | None) -> Path:
    """``out``; else the export folder of a local MODEL (run or export folder); else ``./evaluation``."""
    if out is not None:
        return check_writable(out)
    if isinstance(model, (str, Path)) and Path(model).expanduser().is_dir():
        from ..hub.sources import resolve_model

        return check_writable(resolve_model(model))
    return check_writable(Path("evaluation"))


def card_entry(result: dict) -> dict:
    """The model card's metrics for an evaluation: balanced accuracy per arm and ganaug's uplift, with intervals."""
    entry: dict[str, Any] = {}
    for arm in ("real", "duplicate", "classical", "ganaug"):
        entry[f"{arm}_{PRIMARY}"] = result["arms"][arm]["summary"][PRIMARY]
    for metric in METRICS:
        if metric != PRIMARY and result["arms"]["ganaug"]["summary"][metric]["mean"] is not None:
            entry[f"ganaug_{metric}"] = result["arms"]["ganaug"]["summary"][metric]
    for control, u in result["uplift"].items():
        entry[f"uplift_vs_{control}_{PRIMARY}"] = u[PRIMARY]
    entry["verdict"] = result["verdict"]
    name = Path(str(result["test"]["source"]).rstrip("/")).name or "test"
    return {f"downstream[{name}]": entry}


WEAK_EXTRACTOR = 0.7  # balanced accuracy under which the feature-space figures get a reliability note


def quality_markdown(q: dict) -> str:
    def num(v: Any) -> str:
        return "—" if v is None else f"{v:.4g}"

    lines = [f"Sample quality against the held-out data, extractor `{q['extractor']}`:", ""]
    lines += ["| FID | KID | precision | recall | density | coverage | CAS balanced acc. | IS |", "| --- " * 8 + "|"]
    cas = (q.get("cas") or {}).get("balanced_accuracy")
    keys = ("fid", "kid", "precision", "recall", "density", "coverage")
    lines.append("| " + " | ".join(num(q.get(k)) for k in keys) + f" | {num(cas)} | {num(q.get('inception_score'))} |")
    if q.get("inception_score_classifier"):
        std = q.get("inception_score_std")
        lines += [
            "",
            f"IS: Inception Score of the synthetic samples with classifier `{q['inception_score_classifier']}` "
            f"({q.get('inception_score_splits')} splits{f', std {std:.3g}' if std is not None else ''}); the "
            f"held-out real images score {num(q.get('inception_score_real'))}. It runs from 1 to the number of "
            "classes, rewards confident and balanced predictions of a classifier trained on this data, and is not "
            "comparable with ImageNet Inception Scores.",
        ]
    acc = q.get("extractor_balanced_accuracy")
    if acc is not None:
        weak = acc < WEAK_EXTRACTOR
        lines += [
            "",
            f"The extractor tells the held-out classes apart at {acc:.3f} balanced accuracy"
            + (
                f" (under {WEAK_EXTRACTOR}): precision, recall, density and coverage in its feature space are weak "
                "evidence here; trust CAS and the downstream arms more."
                if weak
                else "."
            ),
        ]
    m = q.get("memorisation")
    if m:
        lines += [
            "",
            f"Memorisation: median nearest-training distance {m['median_nn_synthetic']:.3g} for synthetic samples vs "
            f"{m['median_nn_heldout']:.3g} for held-out real ones; {m['suspected_copies']} suspected copies.",
        ]
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, model: Any, out_dir: Path, warn: Callable[[str], None] = print) -> dict:
    """Write ``evaluation.json`` / ``evaluation.md`` into ``out_dir``; update its model card if it is an export."""
    text = markdown(result)
    if result.get("quality"):
        text += "\n" + quality_markdown(result["quality"])
    result["outputs"] = {"json": str(out_dir / EVALUATION_JSON), "markdown": str(out_dir / EVALUATION_MD)}
    result["markdown"] = text
    write_text(out_dir / EVALUATION_MD, text)
    config_path = out_dir / "config.json"
    if config_path.is_file():
        update_card(out_dir, result)
        result["outputs"]["card"] = str(out_dir / "README.md")
    else:
        warn(f"note: {out_dir} is not an export folder; the model card was not updated")
    write_json(out_dir / EVALUATION_JSON, json.loads(json.dumps({k: v for k, v in result.items() if k != "markdown"})))
    return result


def update_card(export: Path, result: dict) -> None:
    """Put the evaluation (and quality figures) into ``config.json``'s metrics and re-render ``README.md``."""
    from ..hub.card import render_card
    from ..metrics import card_metrics

    config = read_json(export / "config.json")
    if result.get("recipe"):
        config["recipe"] = result["recipe"]
    if result.get("teacher_written") and not config.get("teacher"):
        config["teacher"] = {"held_out": (result.get("teacher") or {}).get("held_out"), "by": "ganaug evaluate"}
    metrics = config.setdefault("metrics", {})
    metrics.update(card_entry(result))
    if result.get("quality"):
        metrics.update(card_metrics(result["quality"]))
    card = config.setdefault("card", {})
    chosen = result["arms"]["ganaug"]
    u = result["uplift"]["duplicate"][PRIMARY]
    note = (
        f"{CARD_NOTE} ({result['seeds']} seeds, test `{Path(str(result['test']['source'])).name}`): "
        f"**{result['verdict']}**. Balanced accuracy with ganaug samples {fmt(chosen['summary'][PRIMARY])} vs "
        f"{fmt(result['arms']['duplicate']['summary'][PRIMARY])} with duplicated minority samples "
        f"(uplift {fmt(u, signed=True)}, 95% interval over seeds)."
    )
    old = str(card.get("notes") or "")
    kept = old.split(CARD_NOTE)[0].rstrip()
    card["notes"] = f"{kept}\n\n{note}".strip()
    write_json(export / "config.json", config)
    readme = export / "README.md"
    name = export.parent.name if export.name == "export" else export.name
    if readme.is_file():
        heading = next(
            (ln[2:].strip() for ln in readme.read_text(encoding="utf-8").splitlines() if ln.startswith("# ")), ""
        )
        name = heading or name
    write_text(readme, render_card(config, name))
