"""Every HTTP route of the gateway, in one list for the app factory."""

from __future__ import annotations

from typing import Any

from gateway.api import (
    admin,
    anthropic_surface,
    cache,
    feedback,
    health,
    labels,
    metrics,
    openai,
    openai_responses,
)

ROUTES: list[Any] = [
    *openai.ROUTES,
    *openai_responses.ROUTES,
    *anthropic_surface.ROUTES,
    *health.ROUTES,
    *admin.ROUTES,
    *labels.ROUTES,
    *metrics.ROUTES,
    *cache.ROUTES,
    *feedback.ROUTES,
]
