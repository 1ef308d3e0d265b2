"""The run folder: resolved config, log.jsonl, sample grids, loss curve (only rank 0 owns one); a finished run as
:class:`Run`, and the config a resumed run continues with."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import DataConfig, FitConfig
from ..errors import GanaugError
from ..fileio import check_writable, read_json, write_json

RESUMABLE_CHANGES = {"steps", "sample_every", "checkpoint_every", "log_every", "keep_checkpoints", "device"}


@dataclass
class Run:
    """A finished (or resumed-and-finished) run folder.

    Example:
        >>> run = ganaug.fit("data/digits", steps=200)  # doctest: +SKIP
        >>> run.load_generator().sample("3", n=4)  # doctest: +SKIP
    """

    path: Path
    config: FitConfig
    data: DataConfig
    steps_done: int

    @property
    def export(self) -> Path:
        return self.path / "export"

    def load_generator(self, device: str = "cpu"):
        from ..hub.sources import load_generator

        return load_generator(self.export, device=device)


def new_run_dir(out: str | Path, name: str, data_source: str) -> Path:
    """``out/name``; an empty name becomes ``<data name>-<time>``, with a suffix if that exists."""
    out = check_writable(out)
    if not name:
        stem = Path(str(data_source).removeprefix("hf:").rstrip("/")).stem or "data"
        name = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = out / name
    n = 2
    while path.exists() and any(path.iterdir()):
        path = out / f"{name}-{n}"
        n += 1
    path.mkdir(parents=True, exist_ok=True)
    return path


class RunFolder:
    """Writes what people look at during and after training; holds the folder's lock (``close()`` frees it)."""

    def __init__(self, path: Path, lock: bool = False):
        from .lock import RunLock

        self.path = Path(path)
        self.lock = RunLock.acquire(self.path) if lock else None  # before anything is written: one writer only
        (self.path / "samples").mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @property
    def log_path(self) -> Path:
        return self.path / "log.jsonl"

    def write_config(self, config: dict) -> None:
        write_json(self.path / "fit_config.json", config)

    def log(self, record: dict) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def truncate_log(self, step: int) -> None:
        """On resume, drop records past the checkpoint's step: those steps are trained again."""
        if not self.log_path.exists():
            return
        keep = [line for line in self.read_log() if line.get("step", 0) <= step]
        tmp = self.log_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
        tmp.replace(self.log_path)

    def read_log(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        out = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                continue
        return out

    def plot_losses(self) -> Path | None:
        """``loss_curve.png``: D and G losses (and augmentation strength) over steps."""
        records = [r for r in self.read_log() if "loss_d" in r]
        if not records:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = [r["step"] for r in records]
        fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
        ax.plot(steps, [r["loss_d"] for r in records], label="discriminator", lw=1)
        ax.plot(steps, [r["loss_g"] for r in records], label="generator", lw=1)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if any(r.get("augment_p", 0) for r in records):
            ax2 = ax.twinx()
            ax2.plot(steps, [r.get("augment_p", 0) for r in records], color="gray", ls="--", lw=1, label="augment p")
            ax2.set_ylabel("augment p")
            ax2.set_ylim(0, 1)
        ax.legend(loc="upper right")
        fig.tight_layout()
        out = self.path / "loss_curve.png"
        fig.savefig(out)
        plt.close(fig)
        return out


def find_run_dir(path: str | Path) -> Path:
    path = Path(path)
    if not (path / "fit_config.json").exists():
        raise GanaugError(f"{path} is not a ganaug run folder (no fit_config.json); pass the folder `ganaug fit` made")
    return path


def load_resumed(resume: str | Path, options: dict) -> tuple[Path, dict, FitConfig]:
    """The run folder, its saved ``fit_config.json`` and the config to continue with; only a few options may change."""
    run_dir = find_run_dir(resume)
    saved = read_json(run_dir / "fit_config.json")
    changed = {k for k, v in options.items() if saved["fit"].get(k) != v} - RESUMABLE_CHANGES
    if changed:
        raise GanaugError(
            f"--resume continues a run as it was configured; these options cannot change: {sorted(changed)}"
        )
    return run_dir, saved, FitConfig.from_dict({**saved["fit"], **options})


def start_run(
    trainer, is_main: bool, cfg, run_dir: Path | None, resolved: dict, data_name: str, notes: list[str]
) -> tuple[Path, RunFolder | None, dict[str, float]]:
    """Open a new run folder, or resume ``run_dir`` from its last checkpoint into ``trainer``.

    Rank 0 holds the folder's lock from here (``run.close()`` frees it). Returns the run folder's path, the RunFolder
    (rank 0 only) and the seconds already spent: ``train`` (wall-clock time in steps), ``cpu`` (this process's CPU time
    in steps, all threads) and ``wall`` (what a ``--max-time`` budget counts: grids, checkpoints, the teacher too).
    """
    from .checkpoint import load_newest_whole

    resuming = run_dir is not None
    if not resuming:
        run_dir = new_run_dir(cfg.out, cfg.name, data_name) if is_main else Path(".")
    run = RunFolder(run_dir, lock=True) if is_main else None
    spent = {"train": 0.0, "cpu": 0.0, "wall": 0.0}
    try:
        if resuming:
            found = load_newest_whole(run_dir)
            if found is not None:
                _, tensors, meta = found
                trainer.load_state(tensors, meta)
                spent["train"] = float(meta.get("train_seconds", 0.0))
                spent["cpu"] = float(meta.get("cpu_seconds", 0.0))
                spent["wall"] = float(meta.get("wall_seconds", spent["train"]))
            if run:
                run.truncate_log(trainer.step)
        if run:
            run.write_config(resolved)
            for note in notes:
                print(f"note: {note}")
    except BaseException:
        if run:
            run.close()
        raise
    return run_dir, run, spent
