"""A CycleGAN export: ``config.json`` (task "cyclegan", per-domain DataConfig), ``model.safetensors`` (both directions
as ``a2b.*`` / ``b2a.*``, and the guard classifier as ``guard.*`` when one was trained), ``README.md`` (model card) and
``samples.png`` (rows A, A->B, A->B->A, B, B->A, B->A->B).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from ..exported import save_exported
from ..fileio import atomic_folder, write_text
from ..generation.generator import CONFIG_NAME, WEIGHTS_NAME
from ..generation.grid import save_grid
from ..hub.card import card_text, dataset_info, metric_values, model_card_data
from ..presets import preset_of

PREFIXES = {"a2b": "a2b.", "b2a": "b2a.", "guard": "guard."}


def cycle_grid(translate: Callable[[Tensor, str], Tensor], a: Tensor, b: Tensor) -> Tensor:
    """Rows A, A->B, A->B->A, B, B->A, B->A->B of model-space images, all with the same channel count (for a grid)."""
    from ..training.guard import match_channels

    ab = translate(a, "a2b")
    ba = translate(b, "b2a")
    rows = [a, ab, translate(ab, "b2a"), b, ba, translate(ba, "a2b")]
    k = min(len(a), len(b))
    c = 3 if any(r.shape[1] >= 3 for r in rows) else 1
    return torch.cat([match_channels(r[:k].float(), c) for r in rows])


def write_translator_export(
    folder: Path, nets: dict[str, nn.Module], config: dict, grid: torch.Tensor, name: str, ncol: int
) -> Path:
    """Write the export folder atomically (built beside ``folder``, then swapped in whole)."""
    tensors = {}
    for key, net in nets.items():
        tensors.update({PREFIXES[key] + k: v for k, v in net.state_dict().items()})
    with atomic_folder(folder) as tmp:
        save_exported(tmp, tensors, CONFIG_NAME, config, WEIGHTS_NAME, {"ganaug_task": "cyclegan"})
        save_grid(grid, ncol, tmp / "samples.png")
        write_text(tmp / "README.md", render_translator_card(config, name))
    return Path(folder)


def _domain_line(data: dict) -> str:
    classes = data.get("class_names") or []
    kind = f"classes {', '.join(f'`{c}`' for c in classes)}" if classes else "unlabelled"
    plural = "" if data["channels"] == 1 else "s"
    return (
        f"`{dataset_info({'data': data})['name']}`: {data['height']}×{data['width']}, {data['channels']} "
        f"channel{plural}, {data['dtype']}, {kind}"
    )


def render_translator_card(config: dict, name: str, source: str = "path/to/export") -> str:
    """README.md of a CycleGAN export, from its ``config.json`` content."""
    data_a, data_b, training = config["data"], config["data_b"], config.get("training", {})
    metrics = metric_values(config.get("metrics") or {})
    medical = bool(preset_of(training).card_caution)
    license_ = (config.get("card") or {}).get("license") or "other"
    both = f"{dataset_info(config)['name']} <-> {dataset_info({'data': data_b})['name']}"
    metadata = model_card_data(
        name,
        ["ganaug", "gan", "cyclegan", "image-to-image", "data-augmentation"],
        license_,
        pipeline_tag="image-to-image",
        results=[("image-to-image", both, "images", key, value) for key, value in metrics],
    )
    guard = config.get("guard")
    command = training.get("command", "ganaug fit --task cyclegan DATA_A DATA_B")
    seconds = float(training.get("train_seconds") or 0)
    body = [
        f"# {name}",
        "",
        f"An unpaired image-to-image translator (CycleGAN, `{config['arch']}` generators) trained with ganaug between "
        "two domains. It turns an image of one domain into a plausible image of the other with the same content, so "
        "a labelled image keeps its label: use it to augment a training set towards the deployment domain.",
        "",
        "![Rows: A, A→B, A→B→A, B, B→A, B→A→B (fixed training images)](samples.png)",
        "",
        "## Domains",
        "",
        f"- A: {_domain_line(data_a)}",
        f"- B: {_domain_line(data_b)}",
        "",
        "## Model",
        "",
        f"- task `cyclegan`; architecture `{config['arch']}` with arguments `{json.dumps(config['arch_args'])}`",
        "- weights: `model.safetensors` with both directions (`a2b.*`, `b2a.*`)"
        + (", and the content-guard classifier (`guard.*`)" if guard else "")
        + "; fully convolutional, so images of any size are translated (padded to the stride, cropped back)",
        "",
        "## Training",
        "",
        f"- loss `{training.get('loss')}`, cycle λ = {training.get('cyclegan_lambda')}, identity "
        f"{training.get('cyclegan_identity')}·λ, history pool {training.get('cyclegan_pool')}, jitter "
        f"`{training.get('cyclegan_jitter')}`",
        f"- {training.get('optimizer')} lr {training.get('lr_g')} (β1 {training.get('beta1')}), constant for "
        f"{training.get('cyclegan_decay_from')} of the steps then linear to 0; batch {training.get('batch_size')}; "
        f"seed {training.get('seed')}",
        f"- {training.get('steps_done')} steps in {seconds:.0f} s on {training.get('device_name', 'unknown')}, "
        f"{training.get('precision', 'fp32')}",
        "",
        "```bash" if command.startswith("ganaug ") else "```python",
        command,
        "```",
        "",
        "## Measured",
        "",
    ]
    if metrics:
        body += ["| metric | value |", "| --- | --- |", *[f"| {k} | {v:.4g} |" for k, v in metrics]]
        body += [
            "",
            "`cycle_l1_a` / `cycle_l1_b`: mean |x − F(G(x))| on the [0, 1] scale over training images. "
            "`guard_rejection_*`: the fraction of translations the guard classifier labels differently from the "
            'original (what `guard="auto"` would fall back on); `guard_train_accuracy`: its accuracy on the labelled '
            "training images.",
        ]
    else:
        body.append("Nothing measured.")
    body += [
        "",
        "## Use",
        "",
        "```python",
        "import ganaug",
        "import torch",
        "from torchvision.transforms import v2",
        "",
        f'translate = ganaug.GANTranslate("{source}", direction="a2b", p=0.5' + (', guard="auto")' if guard else ")"),
        "pipeline = v2.Compose([translate, v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])",
        "image, label = pipeline(image, label)  # label untouched; output of the input's type, size and range",
        "```",
        "",
        "```bash",
        f"ganaug translate {source} INPUT --out translated/ --direction a2b   # a file or a folder",
        "```",
        "",
        "## Intended use and limits",
        "",
        "- Augmenting training data of domain A with the look of domain B (or back). Keep validation and test real.",
        "- A CycleGAN can change content, not just style (add or remove structures): check translations, and use a "
        "guard classifier (`guard=`) to fall back to the original when the class seems to change.",
        "- It learned from the images named above and carries their biases; other content is out of scope.",
        "- Weights are safetensors; loading them runs no code.",
    ]
    if medical:
        body += [
            "- **Not for diagnosis.** Translated medical images are not images of real patients and must not be used "
            "for clinical decisions or to validate a diagnostic system."
        ]
    return card_text(metadata, body)
