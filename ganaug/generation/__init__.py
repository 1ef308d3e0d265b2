"""The class-conditional generator in use: the model, sampling, its export folder, datasets and files of synthetic
samples, spectrograms, image grids."""
