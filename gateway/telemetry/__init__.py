"""What the gateway tells operators: OpenTelemetry traces (GenAI semconv v1.41.0),
Prometheus metrics and one JSON access-log line per request; ``events`` is how the
other stages report their decisions to all three."""
