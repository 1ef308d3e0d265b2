"""The Hugging Face Hub and the MODEL forms: downloads, push and pull, the pretrained registry, model cards."""
