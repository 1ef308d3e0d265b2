"""The model card (README.md of an export): YAML metadata for the Hub, then what a user needs to know."""

from __future__ import annotations

import json


def _yaml_list(items: list[str]) -> str:
    return "\n".join(f"  - {json.dumps(i)}" for i in items)


def render_card(config: dict, name: str) -> str:
    """Render README.md from an export's ``config.json`` content."""
    data, training, metrics = config["data"], config.get("training", {}), config.get("metrics", {})
    preset = training.get("preset", "natural")
    modality = data.get("modality", "image")
    tags = ["ganaug", "gan", "data-augmentation", modality]
    if preset == "medical":
        tags.append("medical")
    datasets = [data["source"][3:]] if str(data.get("source", "")).startswith("hf:") else []
    lines = ["---", "library_name: ganaug", "tags:", _yaml_list(tags), f"license: {training.get('license', 'other')}"]
    if datasets:
        lines += ["datasets:", _yaml_list(datasets)]
    if metrics:
        lines += ["model-index:", f"  - name: {json.dumps(name)}", "    results:"]
        for key, value in metrics.items():
            if isinstance(value, (int, float)):
                lines += [
                    "      - task:",
                    "          type: unconditional-image-generation",
                    "        metrics:",
                    f"          - type: {json.dumps(key)}",
                    f"            value: {value}",
                ]
    lines.append("---")
    classes = data.get("class_names") or ["0"]
    counts = data.get("class_counts") or [""] * len(classes)
    size = f"{data['height']}×{data['width']}, {data['channels']} channel(s), {data['dtype']}"
    arch = config["arch"]
    cond = "class-conditional" if len(classes) > 1 else "unconditional (one class)"
    body = [
        f"# {name}",
        "",
        f"A {cond} `{arch}` generator trained with ganaug on `{data.get('source', '?')}`. It makes labelled "
        f"synthetic samples ({size}) for data augmentation and class balancing.",
        "",
        "![samples, one row per class](samples.png)",
        "",
        "## Classes",
        "",
        "| index | class | training samples |",
        "| --- | --- | --- |",
        *[f"| {i} | {c} | {n} |" for i, (c, n) in enumerate(zip(classes, counts, strict=False))],
        "",
        "## Training",
        "",
        f"- preset: `{preset}`; architecture `{arch}` (arguments `{json.dumps(config['arch_args'])}`)",
        f"- loss `{training.get('loss')}`, {training.get('steps_done', training.get('steps'))} steps at batch "
        f"{training.get('batch_size')}, EMA decay {training.get('ema_decay')}, augmentation "
        f"`{training.get('augment')}` (final p = {training.get('final_augment_p', 0):.3f})",
        f"- training time: {training.get('train_seconds', 0):.0f} s on {training.get('device_name', '?')}",
        f"- value range: data values {data.get('value_range')} map to [-1, 1]",
        "",
        "Command that trained it:",
        "",
        "```bash",
        training.get("command", "ganaug fit ..."),
        "```",
        "",
        "## Use",
        "",
        "```python",
        "import ganaug",
        f'g = ganaug.load_generator("{name}")  # or hf-hub:OWNER/NAME',
        f"x = g.sample({json.dumps(classes[0])}, n=16, seed=0)  # model space, [-1, 1]",
        "```",
        "",
        "```bash",
        f"ganaug sample {name} --class {classes[0]} --n 16 --out grid.png",
        "```",
        "",
        "## Measured quality",
        "",
    ]
    if metrics:
        body += [f"- {k}: {v}" for k, v in metrics.items()]
    else:
        body += ["Not measured yet: run `ganaug evaluate` to measure whether these samples help a classifier."]
    body += [
        "",
        "## Intended use and limits",
        "",
        "- Intended for augmenting and balancing training sets of the same kind of data it was trained on.",
        "- Synthetic samples can repeat or blend training samples and can carry the training data's biases;",
        "  measure the effect on a held-out test set before relying on them.",
        "- Weights are safetensors; loading them runs no code.",
    ]
    if preset == "medical" or modality == "medical":
        body += [
            "- **Not for diagnosis.** Generated medical images are not real patients' images and must not be used",
            "  for clinical decisions or presented as real cases.",
        ]
    return "\n".join(lines + [""] + body) + "\n"
