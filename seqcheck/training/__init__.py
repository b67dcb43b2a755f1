"""Training: recipes that train models, the cache that keeps them, and the built-in reference models."""
