"""CLI commands that live in their own modules; ``ganaug.cli`` registers them."""
