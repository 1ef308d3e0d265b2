"""The CycleGAN translator in use: loading, translating, and its export folder."""
