"""What the gateway tells operators: access logs (tracing and metrics plug in here)."""
