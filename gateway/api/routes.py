"""Every HTTP route of the gateway, in one list for the app factory."""

from __future__ import annotations

from typing import Any

from gateway.api import admin, cache, feedback, health, labels, metrics, openai

ROUTES: list[Any] = [
    *openai.ROUTES,
    *health.ROUTES,
    *admin.ROUTES,
    *labels.ROUTES,
    *metrics.ROUTES,
    *cache.ROUTES,
    *feedback.ROUTES,
]
