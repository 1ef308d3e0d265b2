"""``ganaug tune DATA --trials N``: search learning rates, loss, augmentation policy and width with Optuna.

Every trial is a short ``ganaug fit`` (the per-trial budget in steps); its objective is the FID of its EMA generator
against the real training data, with one feature extractor for all trials (named in the results). The best trial's
options are written as ``best_config.json``, usable as options: ``ganaug.fit(DATA, **json.load(f))``.

Example:
    >>> result = tune("data/train", trials=20, steps=1000, out="runs/tune")  # doctest: +SKIP
    >>> result["best"]["options"]  # doctest: +SKIP
    {'lr_g': 0.00021, 'lr_d': 0.00043, 'loss': 'hinge', 'augment': 'translation,cutout', 'ch': 64}
"""

from __future__ import annotations

import math
import shlex
import time
from pathlib import Path
from typing import Any

from ..errors import GanaugError
from ..presets import get_preset

LOSSES = ("hinge", "bce", "lsgan")
WIDTHS = (0.5, 1.0, 1.5)
TRIAL_FIELDS = ("lr_g", "lr_d", "loss", "augment", "ch")


def suggest(trial, preset: str, base_ch: int) -> dict[str, Any]:
    """One trial's options from the search space."""
    return {
        "lr_g": trial.suggest_float("lr_g", 5e-5, 1e-3, log=True),
        "lr_d": trial.suggest_float("lr_d", 5e-5, 1e-3, log=True),
        "loss": trial.suggest_categorical("loss", list(LOSSES)),
        "augment": trial.suggest_categorical("augment", list(get_preset(preset).tune_policies)),
        "ch": max(4, int(round(base_ch * trial.suggest_categorical("width", list(WIDTHS))))),
    }


def tune(
    data: Any,
    *,
    trials: int = 20,
    steps: int = 1000,
    out: str | Path = "runs/tune",
    seed: int = 0,
    extractor: str = "auto",
    timeout: float | None = None,
    progress: bool = True,
    **fixed: Any,
) -> dict:
    """Run ``trials`` short fits of ``steps`` steps each (``fixed`` are FitConfig options kept in every trial) and
    return ``{"best": ..., "trials": [...], "extractor": ..., "best_config": path}``."""
    try:
        import optuna
    except ImportError as exc:
        raise GanaugError("ganaug tune needs Optuna: pip install 'ganaug[tune]'") from exc
    from ..builders import ARCHS
    from ..config import FitConfig
    from ..data import read_data
    from ..fileio import check_writable, write_json
    from ..fitting import fit, resolve_config
    from ..metrics import fid, get_extractor
    from ..metrics import synthetic_like as like
    from ..progress import progress_bar

    if trials < 1 or steps < 1:
        raise GanaugError(f"trials and steps must be >= 1, got {trials} and {steps}")
    bad = sorted(set(fixed) & set(TRIAL_FIELDS))
    if bad:
        raise GanaugError(f"{bad} are searched by tune; leave them out (or fit with them directly)")
    out = check_writable(out)
    base = resolve_config(FitConfig.from_dict(fixed), set(fixed) | {"steps"})  # the trials are fitted with --steps
    real = read_data(data, resolution=base.resolution, channels=base.channels, split=base.split)
    ex = get_extractor(extractor, data=real, folder=out / "metrics", device=base.device)
    real_features = ex(real.images)
    base_ch = ARCHS.get(base.arch).defaults.get("ch", 64)
    history: list[dict] = []
    fit_fixed = {k: v for k, v in fixed.items() if k not in ("out", "name", "steps")}
    fit_fixed.setdefault("eval_every", 0)  # the trial's objective is measured below; no measurements inside it

    def objective(trial) -> float:
        options = suggest(trial, base.preset, base_ch)
        start = time.perf_counter()
        record = {"trial": trial.number, "options": options, "fid": None}
        try:
            run = fit(
                data, **fit_fixed, **options, steps=steps, out=out / "trials", name=f"trial-{trial.number:03d}",
                sample_every=steps, checkpoint_every=steps, seed=seed, progress=False,
            )  # fmt: skip
            g = run.load_generator()
            fake, _ = like(g, real.labels, seed=seed)
            value = fid(real_features, ex(fake))
            record.update(fid=value, run=str(run.path))
        except GanaugError as exc:  # a non-finite loss: this trial's options diverge
            record["error"] = str(exc).splitlines()[0]
            value = None
        record["seconds"] = round(time.perf_counter() - start, 1)
        history.append(record)
        advance(1)
        return value if value is not None and math.isfinite(value) else float("inf")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    with progress_bar("tune", trials, progress) as advance:
        study.optimize(objective, n_trials=trials, timeout=timeout)
    finished = [r for r in history if r["fid"] is not None]
    if not finished:
        raise GanaugError(f"none of the {len(history)} trial(s) finished; first error: {history[0].get('error')}")
    best = min(finished, key=lambda r: r["fid"])
    options = {**fit_fixed, **best["options"]}
    path = write_json(out / "best_config.json", options)
    flags = " ".join(f"--{k.replace('_', '-')} {shlex.quote(str(v))}" for k, v in options.items())
    result = {
        "objective": f"FID vs the real training data ({ex.name}), {steps} steps per trial",
        "extractor": ex.name,
        "best": {**best, "options": options, "command": f"ganaug fit {shlex.quote(str(data))} {flags}"},
        "trials": history,
        "best_config": str(path),
    }
    write_json(out / "trials.json", result)
    return result
