"""``ganaug report RUN``: one self-contained HTML file about a run (every picture embedded as a base64 PNG).

Sections: per-class sample grids, samples over training time, latent interpolations per class, a traversal grid
per InfoGAN latent code (a model fitted with ``--info-codes``), loss and
augmentation-strength curves, metric curves, a PCA and a t-SNE of real vs synthetic features with the Inception
Score of both (when the run has its feature classifier), memorisation pairs, the evaluation table (after
``ganaug evaluate``), and the resolved configuration.

Example:
    >>> path = build_report("runs/breast")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import html
import json
import re
import string
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..errors import GanaugError
from ..fileio import read_json, write_text
from . import plots

__all__ = ["build_report"]

MAX_CLASSES = 16
MAX_REAL = 2000
MAX_TSNE = 500  # samples per side in the t-SNE: its cost grows faster than linearly


def _figure(png: bytes | None, caption: str, plot: bool = False) -> str:
    if png is None:
        return ""
    cls = ' class="plot"' if plot else ""
    alt = html.escape(caption, quote=True)
    img = f'<img{cls} src="{plots.data_uri(png)}" alt="{alt}">'
    return f"<figure>{img}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _generator(run_dir: Path, resolved: dict):
    """The export's generator, else the EMA generator of the latest checkpoint (a run still training), else None."""
    from ..generation.generator import Generator
    from ..hub.sources import load_generator
    from ..training.checkpoint import latest_checkpoint, load_checkpoint

    if (run_dir / "export" / "config.json").is_file():
        return load_generator(run_dir / "export"), "the exported EMA generator"
    ckpt = latest_checkpoint(run_dir)
    if ckpt is None:
        return None, "no export or checkpoint yet"
    from ..builders import build_generator

    tensors, meta = load_checkpoint(ckpt)
    arch = resolved["fit"]["arch"]
    net = build_generator(arch, resolved["arch_args"])
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("EMA.")}, strict=True)
    config = {"arch": arch, "arch_args": resolved["arch_args"], "data": resolved["data"], "training": {}}
    return Generator(net, config, str(ckpt)), f"the EMA generator of checkpoint step {meta.get('step')}"


def _real_data(resolved: dict):
    """The run's real training data, read as ``fit`` read it (None with a reason when it is not readable now)."""
    from ..config import FitConfig
    from ..data import read_data

    fit = resolved["fit"]
    try:
        try:
            from ..data.options import reader_options

            opts = reader_options(FitConfig.from_dict(fit))
        except ImportError:
            opts = {}
        data = read_data(
            resolved["data_source"], resolution=fit["resolution"], channels=fit["channels"], split=fit["split"], **opts
        )
        return data, ""
    except Exception as exc:  # the data moved, or needs something not here: the report goes on without it
        return None, f"the training data {resolved['data_source']!r} could not be read now ({exc})"


def _markdown_html(text: str) -> str:
    """The small subset of markdown that ``evaluation.md`` uses: paragraphs, tables, **bold** and `code`."""

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    out, table = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if table:
            head, body = table[0], [r for r in table[1:] if not all(set(c) <= set("-: ") for c in r)]
            rows = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body)
            out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + f"</tr>{rows}</table>")
            table = []
        if line.strip():
            out.append(f"<p>{inline(line)}</p>")
    return "\n".join(out)


@torch.no_grad()
def _interpolations(g, classes: int, steps: int = 8, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(1, g.latent_dim, generator=gen), torch.randn(1, g.latent_dim, generator=gen)
    t = torch.linspace(0, 1, steps)[:, None]
    z = (1 - t) * z0 + t * z1
    if g.codes:  # InfoGAN codes: one random draw, the same along the row
        from ..models.info import draw_codes

        z = torch.cat([z, draw_codes(1, g.codes, gen).repeat(steps, 1)], dim=1)
    out = [g.net(z.to(g.device), torch.full((steps,), c, device=g.device)).float().cpu() for c in range(classes)]
    return torch.cat(out)


def _code_traversals(g, seed: int) -> str:
    """One traversal grid per InfoGAN code: a row per class (single-class models: per value of another categorical
    code), a column per value of the code; only that code changes along a row."""
    text = _note(
        "InfoGAN latent codes (fit --info-codes): each grid changes one code along its rows, from left to right, "
        "keeping the noise and the other codes fixed. A code that learned a factor changes one thing (stroke width, "
        "rotation, brightness); a code that changes nothing, or everything at once, did not. Set a code with "
        "`ganaug sample MODEL --class C --code NAME=VALUE`."
    )
    for spec in g.codes:
        images, ncol, labels = g.traversal(spec.name, seed=seed)
        values = spec.sweep_values(ncol)
        span = f"values 0 to {spec.size - 1}" if spec.kind == "categorical" else f"{values[0]:g} to {values[-1]:g}"
        caption = f"code {spec.name} ({spec.kind}), {span}; rows: {', '.join(labels)}"
        text += _figure(plots.grid_png(images, ncol), caption)
    return text


def build_report(run: str | Path, out: str | Path | None = None, *, seed: int = 0, per_class: int = 8) -> Path:
    """Write ``RUN/report.html`` (or ``out``) and return its path. A run with no log yet is a clear error."""
    from ..training.run import RunFolder, find_run_dir

    run_dir = find_run_dir(run)
    records = RunFolder(run_dir).read_log()
    if not records:
        raise GanaugError(
            f"{run_dir} has no training log yet (log.jsonl is missing or empty); the report needs at least one "
            "logged step: wait for the first --log-every steps of `ganaug fit`, then run `ganaug report` again"
        )
    resolved = read_json(run_dir / "fit_config.json")
    g, g_what = _generator(run_dir, resolved)
    names = [str(n) for n in (resolved["data"].get("class_names") or ["0"])]
    shown = min(len(names), MAX_CLASSES)
    sections: list[tuple[str, str, str]] = []

    if g is not None:
        figs = [
            _figure(plots.grid_png(g.sample(c, per_class, seed=seed), per_class), f"class {n}")
            for c, n in enumerate(names[:shown])
        ]
        sections.append(("samples", "Samples per class", _note(f"From {g_what}, seed {seed}.") + "".join(figs)))
        interp = plots.grid_png(_interpolations(g, shown, seed=seed), 8)
        text = _note("Each row: one class, the noise moving linearly from seed A to seed B in 8 steps.")
        text += _figure(interp, "rows: " + ", ".join(names[:shown]))
        sections.append(("interpolation", "Latent interpolations", text))
        if g.codes:
            sections.append(("codes", "Latent codes", _code_traversals(g, seed)))
    else:
        sections.append(("samples", "Samples per class", _note(f"No generator to sample from: {g_what}.")))

    grids = sorted((run_dir / "samples").glob("step-*.png"))
    if len(grids) > 8:
        grids = [grids[round(i * (len(grids) - 1) / 7)] for i in range(8)]
    timeline = "".join(_figure(p.read_bytes(), f"step {int(p.stem.split('-')[-1])}") for p in grids)
    sections.append(("timeline", "Samples over training", timeline or _note("No sample grids written yet.")))

    curves = _figure(plots.loss_curves(records), "losses and augmentation strength", plot=True)
    curves += _figure(plots.metric_curves(records), "FID over training (fit --eval-every)", plot=True)
    if not any(r.get("fid") is not None for r in records):
        curves += _note("No metric curve: train with `ganaug fit --eval-every N` to track FID over training.")
    sections.append(("curves", "Training curves", curves))

    real, why = _real_data(resolved)
    if g is not None and real is not None:
        sections += _feature_sections(run_dir, g, real, names, seed)
    else:
        reason = why or g_what
        sections.append(("features", "Real vs synthetic features", _note(f"Not drawn: {reason}.")))

    evaluation = run_dir / "export" / "evaluation.md"
    body = _markdown_html(evaluation.read_text(encoding="utf-8")) if evaluation.is_file() else ""
    pairs = run_dir / "export" / "memorisation_pairs.png"
    if pairs.is_file():
        body += _figure(pairs.read_bytes(), "closest synthetic (top) / training (bottom) pairs, from ganaug evaluate")
    text = "Not measured yet: `ganaug evaluate RUN DATA --test TEST` adds the downstream table here and to the card."
    sections.append(("evaluation", "Evaluation", body or _note(text)))
    config = html.escape(json.dumps(resolved, indent=2))
    sections.append(("config", "Resolved configuration", f"<pre>{config}</pre>"))

    fit = resolved["fit"]
    steps = records[-1].get("step", 0)
    summary = (
        f"{fit['arch']} generator, loss {fit['loss']}, {steps} of {fit['steps']} steps logged; data "
        f"{resolved['data_source']} ({len(names)} classes, {resolved['data']['height']}x{resolved['data']['width']}"
        f"x{resolved['data']['channels']})."
    )
    template = string.Template(resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8"))
    page = template.substitute(
        name=html.escape(run_dir.name),
        version=__version__,
        date=time.strftime("%Y-%m-%d %H:%M"),
        summary=html.escape(summary),
        nav="".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title, _ in sections),
        sections="\n".join(f'<section id="{sid}"><h2>{html.escape(t)}</h2>\n{b}</section>' for sid, t, b in sections),
    )
    path = Path(out) if out else run_dir / "report.html"
    write_text(path, page)
    return path


def _feature_sections(run_dir: Path, g, real, names: list[str], seed: int) -> list[tuple[str, str, str]]:
    from ..metrics import labels_for
    from ..metrics.extractor import ClassifierExtractor
    from ..metrics.memorisation import nearest

    y = labels_for(real, g.class_names)
    keep = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:MAX_REAL]
    x, y = real.images[keep], y[keep]
    fake_y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed + 1))]
    fake = g.generate(fake_y.tolist(), seed=seed)
    ex = None
    if (run_dir / "metrics" / "extractor.json").is_file():
        ex = ClassifierExtractor.load(run_dir / "metrics")
        fr, ff, space = ex(x).numpy(), ex(fake).numpy(), f"features of {ex.name}"
    else:
        fr, ff, space = x.flatten(1).numpy(), fake.flatten(1).numpy(), "pixels (no extractor in this run)"
    yr, yf = y.numpy(), fake_y.numpy()
    body = _figure(plots.feature_scatter(fr, yr, ff, yf, names, space), f"PCA of {space}", plot=True)
    k = min(MAX_TSNE, len(fr))
    if k >= 2:
        tsne = plots.feature_scatter(fr[:k], yr[:k], ff[:k], yf[:k], names, space, method="tsne", seed=seed)
        body += _figure(tsne, f"t-SNE of {space}, {k} real and {k} synthetic samples", plot=True)
        body += _note(
            "t-SNE keeps neighbourhoods, not distances: the gaps between clusters and their sizes mean nothing, and "
            "the picture changes with perplexity and seed. Read it for whether synthetic crosses sit among the real "
            "dots of their class, and for clusters of crosses with no dots (modes the data does not have)."
        )
    if ex is not None:
        body += _note(_inception_note(ex, x, fake, seed))
    out = [("features", "Real vs synthetic features", body)]
    d, idx = nearest(fake, x)
    order = torch.argsort(d)[:8]
    pairs = plots.grid_png(torch.cat([fake[order], x[idx[order]]]), max(1, len(order)))
    med = float(np.median(d.numpy())) if len(d) else float("nan")
    text = _note(
        f"The synthetic samples closest to a training sample (top) and that training sample (bottom), pixel distance "
        f"{float(d[order[0]]):.3g} to {float(d[order[-1]]):.3g}; median over all synthetic samples {med:.3g}. "
        "`ganaug evaluate` compares these distances with held-out real samples."
    )
    out.append(("memorisation", "Memorisation check", text + _figure(pairs, "closest pairs")))
    return out


def _inception_note(ex, real: torch.Tensor, fake: torch.Tensor, seed: int) -> str:
    """The Inception Score of the synthetic and the real samples with the run's own-data classifier, as a sentence."""
    from ..metrics.inception_score import score_with

    s, r = score_with(ex, fake, seed=seed), score_with(ex, real, seed=seed)

    def fmt(q: dict) -> str:
        if q["inception_score"] is None:
            return "not measurable"
        std = q["inception_score_std"]
        return f"{q['inception_score']:.3g}" + (f" ± {std:.2g}" if std is not None else "")

    return (
        f"Inception Score with classifier {ex.name} (trained on this run's data, {s['splits']} splits): synthetic "
        f"{fmt(s)}, real {fmt(r)}; 1 is one prediction for everything, {len(ex.info.get('class_names') or [])} (the "
        "number of classes) is confident and balanced. It says nothing about realism within a class and is not "
        "comparable with ImageNet Inception Scores."
    )
