"""The intent-routing stage: a router model name becomes the model its intent names.

Runs after parsing and before model access, so everything downstream (access checks,
limits, routing, the ledger) sees the chosen model; the decision (intent, score, tier)
goes into ``x-gateway-intent``, the trace and the ledger note. The team must be allowed
the router name and, as for any request, the model it routes to. Fails closed: a
router request on an endpoint without user text (embeddings) is a 400.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.auth.keys import PRINCIPAL
from gateway.embedding.embedder import Embedder, EmbedderError
from gateway.errors import InvalidRequestError, PermissionDeniedError
from gateway.intent.classifier import IntentClassifier
from gateway.intent.config import IntentRouter
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.telemetry import events
from gateway.telemetry.events import decision
from gateway.wire.texts import request_slots
from gateway.wire.types import Endpoint

log = logging.getLogger("gateway.intent")
INTENT_HEADER = "x-gateway-intent"


@dataclass(frozen=True, slots=True)
class RouterRuntime:
    config: IntentRouter
    classifier: IntentClassifier
    embedder: Embedder | None


class IntentRouting(Stage):
    def __init__(self, routers: Mapping[str, RouterRuntime]) -> None:
        self._routers = dict(routers)

    async def enter(self, ctx: RequestContext) -> Reply | None:
        runtime = self._routers.get(ctx.model)
        if runtime is None:
            return None
        name = ctx.model
        principal = PRINCIPAL.get(ctx)
        if principal is None or not principal.may_use(name):
            raise PermissionDeniedError(
                f"Your team is not allowed to use the model `{name}`.", param="model"
            )
        if ctx.endpoint is Endpoint.EMBEDDINGS:
            raise InvalidRequestError(
                f"The model `{name}` routes chat and completion requests only.",
                param="model",
                code="unsupported_endpoint",
            )
        text = user_text(ctx, runtime.config)
        classifier = runtime.classifier
        if runtime.embedder is not None and classifier.embeds and text.strip():
            try:
                # ONNX Runtime releases the GIL: the embedding runs on the embedder's
                # thread while the event loop serves other requests.
                embedding = await runtime.embedder.embed(text[: runtime.config.max_chars])
            except EmbedderError as exc:  # fails open, to the default intent
                log.warning("intent router %s: embedder failed: %s", name, exc)
                chosen = classifier.fallback()
            else:
                chosen = classifier.decide(text, embedding)
        else:
            chosen = classifier.decide(text)
        ctx.model = chosen.target
        note = events.note(ctx)
        note.router, note.intent, note.tier = name, chosen.intent, chosen.tier
        note.intent_score, note.intent_fallback = chosen.score, not chosen.matched
        ctx.response_headers[INTENT_HEADER] = chosen.header()
        decision(
            ctx,
            "gateway.intent",
            {
                "gateway.intent.router": name,
                "gateway.intent.name": chosen.intent,
                "gateway.intent.score": chosen.score,
                "gateway.intent.tier": chosen.tier,
                "gateway.intent.target": chosen.target,
            },
        )
        return None


def user_text(ctx: RequestContext, router: IntentRouter) -> str:
    """The text classified: the last user message, or every user message joined (a
    completions prompt is all user text)."""
    if ctx.endpoint is not Endpoint.CHAT:
        return "\n".join(s.text for s in request_slots(ctx.endpoint, ctx.body))
    messages = ctx.body.get("messages")
    users = (
        [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if isinstance(messages, list)
        else []
    )
    if router.messages == "last_user":
        users = users[-1:]
    return "\n".join(_content_text(m.get("content")) for m in users)


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""
