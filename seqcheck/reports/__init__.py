"""Reports: the outcome of a check for people (text, heatmap, plots) and machines (JSON, JUnit, Markdown), and baselines."""
