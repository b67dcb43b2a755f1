"""Search: the space a check explores, the memoized model, Hypothesis's search with sweeps, and confirmation."""
