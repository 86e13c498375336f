"""How many tokens a request may spend, reserved before it runs: its prompt, counted
with tiktoken by ``accounting.tokens`` (once per request, shared with budgets), plus the
most it may generate (``wire.caps``: the largest cap field per choice, else the
configured default; OpenAI's 16 for legacy completions; nothing for embeddings).
"""

from __future__ import annotations

from gateway.accounting.tokens import prompt_tokens
from gateway.pipeline.context import RequestContext
from gateway.routing.models import ROUTE
from gateway.wire.caps import output_tokens


async def reserved_tokens(ctx: RequestContext, default_max_tokens: int) -> int:
    """Without an output cap, at least what the route's targets may generate uncapped
    (their models' ceilings), since that is what the upstream is allowed to produce."""
    prompt = await prompt_tokens(ctx)
    route = ROUTE.get(ctx)
    uncapped = (
        max(default_max_tokens, *(t.max_output for t in route.targets))
        if route
        else default_max_tokens
    )
    return prompt + output_tokens(ctx.endpoint, ctx.body, uncapped)
