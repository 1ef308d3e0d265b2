"""How ``evaluate``'s choice to add synthetic samples holds up on test: the mean rule against the interval rule.

    python benchmarks/recipe_choice.py RUN/export/evaluation.json [MORE.json ...]

Reads stored evaluations (``benchmarks/uplift.py`` or ``ganaug evaluate`` writes them; nothing is trained). For each:
the deployed arm, its paired gain on validation over the strongest control there, what the old rule (validation
mean above zero) and the current one (``ganaug.evaluation.evaluate.adds_samples``: the paired interval over at least
3 seeds above zero) decide, and the deployed arm's paired uplift on test over the strongest control on test. The
last line counts how often each rule said "add" and what those recipes scored on test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("evaluations", nargs="+", type=Path)
    args = ap.parse_args()

    import numpy as np

    from ganaug.downstream.uplift import fmt, paired_uplift
    from ganaug.evaluation.evaluate import adds_samples

    added = {"mean rule": [], "interval rule": []}
    for path in args.evaluations:
        r = json.loads(path.read_text())
        arms = r["arms"]

        def ba(arm: str, split: str, arms: dict = arms) -> list[float]:
            return [s["balanced_accuracy"] for s in arms[arm][split]]

        controls = [c for c in ("real", "duplicate", "classical", "distill") if c in arms]
        on_val = max(controls, key=lambda c: np.mean(ba(c, "val")))
        on_test = max(controls, key=lambda c: np.mean(ba(c, "test")))
        deployed = r["chosen"]["arm"]
        val_gain = paired_uplift(ba(deployed, "val"), ba(on_val, "val"))
        test_gain = paired_uplift(ba(deployed, "test"), ba(on_test, "test"))
        by_mean = val_gain["mean"] is not None and val_gain["mean"] > 0
        by_interval = adds_samples(val_gain, r["seeds"])
        for rule, says in (("mean rule", by_mean), ("interval rule", by_interval)):
            if says:
                added[rule].append(test_gain["mean"])
        says = {True: "add", False: "add nothing"}
        print(f"{path}: {r['regime']}, {r['seeds']} seeds; deployed {deployed}; validation gain over {on_val} "
              f"{fmt(val_gain, signed=True)}: mean rule {says[by_mean]}, interval rule {says[by_interval]}; "
              f"test uplift over {on_test} {fmt(test_gain, signed=True)}")  # fmt: skip
    for rule, gains in added.items():
        scored = ", ".join(f"{g * 100:+.1f}" for g in sorted(gains)) or "none"
        print(f"{rule}: add in {len(gains)} of {len(args.evaluations)} evaluations; those recipes on test against the "
              f"best control (pts): {scored}")  # fmt: skip


if __name__ == "__main__":
    main()
