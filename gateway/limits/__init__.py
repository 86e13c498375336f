"""Rate limits (requests, tokens and concurrency per minute) that stay exact across replicas.

Kept import-free: ``gateway.config.schema`` imports ``gateway.limits.config``, and the
engines pull in redis only when a shared store is configured.
"""
