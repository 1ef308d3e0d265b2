"""Sample grids before and after a model's recipe: the generator's items as drawn, and the recipe's items (teacher
filter, latent spread), one row per class, with the share of drawn items the teacher accepts per class.

    python benchmarks/recipe_grid.py RUN --out RUN/NAME [--n 16] [--seed 0]

Writes NAME-drawn.png and NAME-recipe.png (beside the run: grids of a fit on shared data stay out of the repo).
RUN's export must hold a recipe (``ganaug evaluate`` writes one) and a teacher; without a teacher filter in the
recipe, the teacher filter at threshold 0.5 is shown instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--out", required=True, help="path prefix of the two PNG grids")
    parser.add_argument("--n", type=int, default=16, help="samples per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from ganaug.downstream.recipe import FilteredItems, Recipe, model_recipe
    from ganaug.downstream.teacher import Teacher
    from ganaug.generation.grid import save_grid
    from ganaug.generation.sampling import Sampler
    from ganaug.hub.sources import load_generator, resolve_model

    g = load_generator(args.model)
    recipe = model_recipe(g) or Recipe()
    if recipe.filter != "teacher":
        recipe = Recipe(**{**recipe.to_dict(), "filter": "teacher", "threshold": 0.5})
    teacher = Teacher.load(resolve_model(args.model))
    if teacher is None:
        raise SystemExit(f"{args.model} has no teacher: run ganaug evaluate on it first")
    drawn = Sampler(g, seed=args.seed)
    items = FilteredItems(Sampler(g, seed=args.seed, spread=recipe.spread), teacher, recipe)
    before, after = [], []
    for c, name in enumerate(g.class_names):
        x = drawn.items(c, range(args.n))
        before.append(x)
        after.append(items.items(c, 0, args.n))
        probe = drawn.items(c, range(256))
        share = float(teacher.accepts(probe, c, recipe.threshold).float().mean())
        print(f"class {name}: the teacher accepts {share:.0%} of drawn samples (threshold {recipe.threshold:g})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_grid(torch.cat(before), args.n, out.with_name(out.name + "-drawn.png"))
    save_grid(torch.cat(after), args.n, out.with_name(out.name + "-recipe.png"))
    print(out.with_name(out.name + "-drawn.png"), out.with_name(out.name + "-recipe.png"))


if __name__ == "__main__":
    main()
