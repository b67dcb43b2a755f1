"""Tasks: what a model is asked to do, with the oracle that says the right answer."""
