"""The model card (README.md of an export): YAML metadata for the Hub, then what a user needs to know.

Everything comes from ``config.json``: the data description, the training summary, measured metrics, and an
optional ``"card"`` section with what ganaug cannot know by itself::

    "card": {"license": "cc-by-4.0", "classes": {"0": "malignant"},
             "dataset": {"name": "BreastMNIST", "url": "...", "license": "CC BY 4.0", "citation": "..."},
             "description": "one paragraph"}
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from ..modalities import modality_of
from ..presets import preset_of

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

# The marker after the YAML header: `ganaug push` re-renders a card that still carries it (with the repo id in
# the usage lines); delete the line to keep hand edits.
GENERATED_MARKER = "<!-- ganaug: generated card; `ganaug push` regenerates it unless this line is deleted -->"
DEFAULT_LICENSE = "other"
QUALITY_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage", "inception_score", "memorization")
PIPELINE_TAGS = {"cgan": "unconditional-image-generation", "cyclegan": "image-to-image"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "data"


def metric_values(metrics: dict, prefix: str = "") -> list[tuple[str, float]]:
    """Flatten measured metrics to (name, value): numbers, ``{"mean": x, ...}`` dicts, and one level of groups."""
    out = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out.append((name, float(value)))
        elif isinstance(value, dict) and isinstance(value.get("mean"), (int, float)):
            out.append((name, float(value["mean"])))
        elif isinstance(value, dict) and not prefix:
            out += metric_values(value, f"{key}.")
    return out


def _load_note(training: dict) -> str:
    """On a CPU: the CPU time the steps took, and a warning when other work shared the machine (its wall-clock time
    then overstates the cost)."""
    if not str(training.get("device_name", "")).startswith("CPU"):
        return ""
    cpu, load, cores = training.get("cpu_seconds"), training.get("load_average"), training.get("cpu_cores")
    note = f" ({_duration(float(cpu))} of CPU time)" if cpu else ""
    if load is not None and cores and float(load) > 0.75 * int(cores):
        busy = f"load average {float(load):.1f} on {cores} cores"
        note += f"; the machine was busy ({busy}), so that time overstates the cost"
    return note


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _class_table(classes: list[str], counts: list, meanings: dict[str, str]) -> list[str]:
    rows = []
    for i, c in enumerate(classes):
        count = counts[i] if i < len(counts) else "—"
        rows.append(f"| {i} | `{c}` | {meanings.get(c, '—')} | {count} |" if meanings else f"| {i} | `{c}` | {count} |")
    if meanings:
        return ["| index | class | meaning | training samples |", "| --- | --- | --- | --- |", *rows]
    return ["| index | class | training samples |", "| --- | --- | --- |", *rows]


def dataset_info(config: dict) -> dict:
    """Name, Hub id (when the data came from the Hub), url, license and citation of the training data."""
    data, card = config["data"], config.get("card") or {}
    info = dict(card.get("dataset") or {})
    source = str(data.get("source", ""))
    if source.startswith("hf:"):
        info.setdefault("hub_id", source[3:])
    info.setdefault("name", info.get("hub_id") or PurePath(source).name or "training data")
    return info


def model_card_data(
    name: str,
    tags: list[str],
    license_: str,
    pipeline_tag: str | None = None,
    datasets: list[str] | None = None,
    results: Sequence[tuple[str, str, str, str, float]] = (),
) -> ModelCardData:
    """The Hub metadata of a card as ``huggingface_hub.ModelCardData``: ``library_name: ganaug``, the tags, the
    license (``other`` is named "same-as-training-data"), and the measured ``results`` as the model index, one
    ``(task type, dataset name, dataset type, metric, value)`` each (grouped by task and dataset; values kept to 6
    significant digits).

    Example:
        >>> data = model_card_data("tiny", ["ganaug"], "mit", results=[("image-to-image", "A", "B", "fid", 41.51234)])
        >>> data.license, data.eval_results[0].metric_value
        ('mit', 41.5123)
    """
    from huggingface_hub import EvalResult, ModelCardData

    evals = [
        EvalResult(task_type=task, dataset_name=ds_name, dataset_type=ds_type, metric_type=key,
                   metric_value=_rounded(value), metric_name=key)
        for task, ds_name, ds_type, key, value in results
    ]  # fmt: skip
    return ModelCardData(
        library_name="ganaug",
        tags=list(tags),
        license=license_,
        license_name="same-as-training-data" if license_ == "other" else None,
        datasets=list(datasets) if datasets else None,
        pipeline_tag=pipeline_tag,
        model_name=name if evals else None,
        eval_results=evals or None,
    )


def _rounded(value: float) -> float | int:
    """``value`` to 6 significant digits, as the card's table writes it (a whole number stays an int)."""
    v = float(f"{value:.6g}")
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def card_text(data: ModelCardData, body: list[str]) -> str:
    """A README.md: ``data`` (``ModelCardData``) as the YAML header, then the ``body`` lines, through
    ``huggingface_hub.ModelCard`` (which reads the header back, so a card it cannot parse is an error here)."""
    from huggingface_hub import ModelCard

    return str(ModelCard("---\n" + data.to_yaml() + "\n---\n\n" + "\n".join(body) + "\n"))


def card_metadata(config: dict, name: str) -> ModelCardData:
    """The Hub metadata (``ModelCardData``) of a class-conditional export, from its ``config.json`` content."""
    data, training, card = config["data"], config.get("training", {}), config.get("card") or {}
    preset, modality, task = training.get("preset", "natural"), modality_of(data), config.get("task", "cgan")
    tags = ["ganaug", "gan", "data-augmentation", modality.name]
    tags += [t for t in (preset if preset_of(training).scans else "", task) if t and t not in tags]
    license_ = card.get("license") or training.get("license") or DEFAULT_LICENSE
    ds = dataset_info(config)
    ds_type = ds.get("hub_id") or _slug(ds["name"])
    results = []
    for key, value in metric_values(config.get("metrics") or {}):
        quality = key.rsplit(".", 1)[-1].lower() in QUALITY_METRICS
        kind = "unconditional-image-generation" if quality else "image-classification"
        results.append((kind, ds["name"], ds_type, key, value))
    return model_card_data(
        name,
        tags,
        license_,
        pipeline_tag=PIPELINE_TAGS.get(task) if modality.image_pipeline else None,
        datasets=[ds["hub_id"]] if ds.get("hub_id") else None,
        results=results,
    )


def render_card(config: dict, name: str, repo_id: str | None = None, source: str | None = None) -> str:
    """Render README.md from an export's ``config.json`` content.

    The usage lines load ``source`` (e.g. a registry name), else ``hf-hub:<repo_id>``, else a local export path.
    """
    data, training, card = config["data"], config.get("training", {}), config.get("card") or {}
    preset = training.get("preset", "natural")
    caution = preset_of(training).card_caution
    classes = [str(c) for c in (data.get("class_names") or ["0"])]
    counts = list(data.get("class_counts") or [])
    meanings = {str(k): str(v) for k, v in (card.get("classes") or {}).items()}
    ds = dataset_info(config)
    source = source or (f"hf-hub:{repo_id}" if repo_id else "path/to/export")
    plural = "" if data["channels"] == 1 else "s"
    size = f"{data['height']}×{data['width']}, {data['channels']} channel{plural}, {data['dtype']}"
    rows = "one row per class" if len(classes) <= 16 else "one row per class for the first 16 classes"
    arch, task = config["arch"], config.get("task", "cgan")
    cond = "class-conditional" if len(classes) > 1 else "single-class"
    n_train = sum(int(c) for c in counts) if counts else None
    steps = training.get("steps_done", training.get("steps"))
    seconds = float(training.get("train_seconds") or 0)
    first = classes[0]
    dataset_line = f"[{ds['name']}]({ds['url']})" if ds.get("url") else f"`{ds['name']}`"
    body = [
        f"# {name}",
        "",
        GENERATED_MARKER,
        "",
        card.get("description")
        or (
            f"A {cond} `{arch}` GAN generator trained with ganaug on {dataset_line}. It makes "
            f"labelled synthetic samples ({size}) to augment or class-balance a training set of the same kind of data."
        ),
        "",
        f"![Samples from the EMA generator: {rows}, 8 samples each, seed 0](samples.png)",
        "",
        "## Classes",
        "",
        *_class_table(classes, counts, meanings),
        "",
        "## Model",
        "",
        f"- task: `{task}`; architecture `{arch}` with arguments `{json.dumps(config['arch_args'])}`",
        f"- output: {size}; data values {data.get('value_range')} map to [-1, 1] in model space",
        f"- weights: `model.safetensors` (the EMA generator); `config.json` rebuilds the network with ganaug "
        f"{config.get('ganaug_version', '')} and runs no code from the repository",
        *_progan_lines(config),
        *_codes_lines(config, source, first),
        "",
        "## Training",
        "",
        f"- data: {dataset_line}"
        + (f", {n_train} training samples" if n_train else "")
        + (f", split `{training.get('split')}`" if training.get("split") else ""),
        f"- preset `{preset}`; loss `{training.get('loss')}`; optimizer `{training.get('optimizer')}` "
        f"(lr G {training.get('lr_g')}, D {training.get('lr_d')}); batch {training.get('batch_size')}; "
        f"EMA decay {training.get('ema_decay')}; seed {training.get('seed')}",
        f"- discriminator augmentation `{training.get('augment')}`, final strength p = "
        f"{float(training.get('final_augment_p') or 0):.3f}",
        f"- {steps} steps in {_duration(seconds)} of wall-clock time on {training.get('device_name', 'unknown')}, "
        f"{training.get('precision', 'fp32')}"
        + _load_note(training)
        + (f"; exported {config['created'][:10]}" if config.get("created") else ""),
        *_export_choice(training, steps),
        *_init_lines(training),
        "",
        "The exact command:",
        "",
        "```bash",
        training.get("command", "ganaug fit ..."),
        "```",
        "",
        "## Measured quality",
        "",
    ]
    measured = metric_values(config.get("metrics") or {})
    if measured:
        body += ["| metric | value |", "| --- | --- |", *[f"| {k} | {v:.4g} |" for k, v in measured]]
    else:
        body += [
            "Not measured yet. Synthetic samples often fail to help a classifier: before relying on them, measure",
            f"the downstream effect with `ganaug evaluate {shlex.quote(source)} DATA --test TEST_DATA`, which also",
            "writes the result into this card.",
        ]
    body += ["", "## Recipe", ""] + _recipe_lines(config)
    body += ["", "## Use", ""]
    body += modality_of(data).card_use(source, first, data)
    body += [
        "",
        "## Intended use and limits",
        "",
        f"- Intended for augmenting and class-balancing training sets of the same kind of data as {ds['name']}",
        f"  ({size}); other sizes, modalities or acquisition settings are out of scope.",
        "- A sample's label is the class it was asked for, not a verified annotation; mixing in too many",
        "  synthetic samples can hurt. Keep validation and test sets real.",
        f"- It learned from {n_train or 'few'} samples: it can repeat or blend training samples and carries the",
        "  training data's biases. Do not publish samples where the training data's terms forbid it.",
        "- Weights are safetensors; loading them runs no code.",
    ]
    body += list(caution)
    if card.get("notes"):
        body += ["", "## Notes", "", str(card["notes"])]
    if ds.get("license") or ds.get("citation"):
        body += ["", "## Training data", ""]
        body += [f"- license: {ds['license']}"] if ds.get("license") else []
        body += [f"- cite: {ds['citation']}"] if ds.get("citation") else []
    return card_text(card_metadata(config, name), body)


def _export_choice(training: dict, steps: object) -> list[str]:
    """The weights the export holds when ``--eval-every`` chose them: step, metric and what it was measured on."""
    if training.get("best_step") is None:
        return []
    by = str(training.get("best_by", "fid"))
    score = f" ({float(training['best_cas']):.3f})" if by == "cas" and training.get("best_cas") is not None else ""
    best = "highest" if by == "cas" else "lowest"
    rising = (
        " (still rising at the last measurement: a fit with a longer `--max-time`, or more `--steps`, may give samples"
        " that carry their class better)"
        if training.get("cas_still_rising")
        else ""
    )
    return [
        f"- exported weights: the EMA generator at step {training['best_step']} of {steps}, the {best} "
        f"{by.upper()}{score} measured on the {training.get('best_fid_reference', 'training data')}{rising}"
    ]


def _init_lines(training: dict) -> list[str]:
    """Where the networks started when they did not start fresh (``fit --init-from``): the run and its data by name."""
    init = training.get("init_from")
    if not isinstance(init, dict):
        return []
    run, data = (PurePath(str(init.get(key, "?")).rstrip("/")).name.replace("`", "'") for key in ("run", "data"))
    copied = f"; {init['copied']} tensors copied, {init['fresh']} fresh" if "copied" in init else ""
    return [f"- started from the weights of run `{run}` at step {init.get('step')} (fitted on `{data}`){copied}"]


def _progan_lines(config: dict) -> list[str]:
    """A growing network's record (``fit --arch progan``): the stage it reached, the final resolution, the images
    each new resolution faded in over, and the drift penalty when it was on. Other networks: no lines."""
    training, args = config.get("training", {}), config.get("arch_args") or {}
    if "progan_stage" not in training:
        return []
    stage, stages = int(training["progan_stage"]), int(training.get("progan_stages", training["progan_stage"]))
    final = f"{args.get('height', config['data']['height'])}x{args.get('width', config['data']['width'])}"
    alpha = float(training.get("progan_alpha", 1.0))
    reached = f"stage {stage} of {stages} ({training.get('progan_size', '?')}" + (
        f", fading in at alpha {alpha:.2f})" if alpha < 1.0 else ")"
    )
    upsampled = "" if training.get("progan_size", final) == final else f"; its samples are upsampled to {final}"
    lines = [f"- progressive growing (ProGAN): reached {reached}; final resolution {final}{upsampled}"]
    if training.get("progan_stage_images"):
        lines.append(
            f"- each new resolution faded in over {int(training['progan_stage_images'])} real images, then trained "
            "as many at that size"
        )
    elif training.get("progan_schedule"):
        lines.append(f"- stage schedule: {training['progan_schedule']}")
    drift = float(training.get("progan_drift") or 0)
    if drift > 0:
        lines.append(f"- drift penalty {drift:g} x the mean square of D's outputs on real images")
    return lines


def _codes_lines(config: dict, source: str, first: str) -> list[str]:
    """The InfoGAN latent codes (``fit --info-codes``): what they are, their traversal grids, how to set them."""
    codes = config.get("codes") or []
    if not codes:
        return []
    lines = [
        "",
        "## Latent codes",
        "",
        f"Trained with InfoGAN latent codes (Chen et al. 2016), mutual-information weight "
        f"{config.get('training', {}).get('info_weight', 1.0)}: each code was learned, without labels, to steer one "
        "factor of the samples. Codes not set are drawn at random.",
        "",
    ]
    for code in codes:
        name = str(code.get("name"))
        if code.get("kind") == "categorical":
            what = f"categorical, values 0 to {int(code.get('values', 1)) - 1}"
        else:
            low, high = code.get("range", [-1, 1])
            what = f"continuous, uniform in [{low}, {high}]"
        lines.append(f"- `{name}`: {what}")
    lines.append("")
    for code in codes:
        name = str(code.get("name"))
        lines += [f"![Traversal of code {name}: a row per class, a column per value](traversal-{name}.png)", ""]
    name = str(codes[-1].get("name"))
    value = "0" if codes[-1].get("kind") == "categorical" else "0.5"
    lines += [
        "```bash",
        f"ganaug sample {shlex.quote(source)} --class {shlex.quote(first)} --code {name}={value} --n 16 --out grid.png",
        "```",
    ]
    return lines


def _recipe_lines(config: dict) -> list[str]:
    """How synthetic samples join real ones: the recipe ``ganaug evaluate`` chose, and the teacher."""
    lines = []
    teacher = config.get("teacher")
    if teacher:
        held = teacher.get("held_out") or {}
        score = (
            f"balanced accuracy {held['balanced_accuracy']:.3f} on {held['n']} held-out real samples"
            if held.get("balanced_accuracy") is not None
            else "too few samples per class to hold some out for a score"
        )
        asked, trained = teacher.get("epochs_asked"), teacher.get("epochs")
        if asked and trained and trained < asked:
            score += f"; {trained} of {asked} epochs, to keep it within its share of --max-time"
        lines.append(f"- teacher: `teacher.safetensors`, a small classifier trained on the real training data ({score})"
                     "; it filters synthetic samples and gives soft labels")  # fmt: skip
    recipe = config.get("recipe")
    if not recipe:
        lines.append(
            "- no recipe yet: `ganaug evaluate` chooses one on validation data and writes it here; until then the "
            "dataset wrappers add samples in proportion to the classes, unfiltered, with hard labels"
        )
    elif recipe.get("add", True):
        lines.append(f"- **{recipe.get('name', 'recipe')}**: what `SyntheticMixDataset`, `ClassBalancedDataset` and "
                     "their seeds give by default")  # fmt: skip
        if recipe.get("distill"):
            lines.append("- on top of distillation: pass each training batch through `ganaug.DistillMixUp(MODEL)`, "
                         "which blends the real images by mixup and labels them with the teacher")  # fmt: skip
        if recipe.get("with_classical"):
            lines.append("- the gain was measured together with classical augmentation (whole-pixel shifts): keep "
                         "your classical augmentation in the pipeline beside the synthetic samples")  # fmt: skip
    else:
        lines.append("- **do not add synthetic samples**: the wrappers add none unless asked")
    if recipe:
        fields = {k: v for k, v in recipe.items() if k not in ("name", "reason", "chosen_by")}
        lines += [
            f"- {recipe.get('reason', '')}; chosen by {recipe.get('chosen_by', 'ganaug evaluate')}",
            f"- `config.json` `recipe`: `{json.dumps(fields)}`",
        ]
    return lines
