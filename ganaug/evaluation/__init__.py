"""Feature folder: ``ganaug evaluate`` (the arms, the outputs), ``tune``, and distillation."""
