"""How many tokens a request may spend, reserved before it runs: its prompt, counted
with tiktoken by ``accounting.tokens`` (once per request, shared with budgets), plus the
most it may generate: ``max_completion_tokens`` / ``max_tokens`` per choice, else the
configured default; OpenAI's 16 for legacy completions; nothing for embeddings.
"""

from __future__ import annotations

from gateway.accounting.tokens import prompt_tokens
from gateway.pipeline.context import RequestContext
from gateway.wire.types import Endpoint

_LEGACY_DEFAULT_MAX_TOKENS = 16


async def reserved_tokens(ctx: RequestContext, default_max_tokens: int) -> int:
    prompt = await prompt_tokens(ctx)
    if ctx.endpoint is Endpoint.EMBEDDINGS:
        return prompt
    body = ctx.body
    choices = _positive(body.get("n")) or 1
    if ctx.endpoint is Endpoint.CHAT:
        most = (
            _positive(body.get("max_completion_tokens"))
            or _positive(body.get("max_tokens"))
            or default_max_tokens
        )
    else:
        most = _positive(body.get("max_tokens")) or _LEGACY_DEFAULT_MAX_TOKENS
        choices = max(choices, _positive(body.get("best_of")) or 1)
    return prompt + most * choices


def _positive(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
