"""The downstream classifier, its teacher, the recipe that adds synthetic samples to its training, and the
statistics of its scores (uplift)."""
