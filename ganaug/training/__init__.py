"""Training: the loop, its engine, losses, differentiable augmentation, EMA and checkpoints."""
