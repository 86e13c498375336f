"""Model name → targets: the model table, target health and the order targets are tried in."""
