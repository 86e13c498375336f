"""The most output a request may produce, read from its body: what admission reserves.

Providers honour different cap fields (``max_completion_tokens`` on OpenAI,
``max_tokens`` on OpenAI-compatible servers and trtllm-serve, either one mapped to
Anthropic's ``max_tokens``), and a translator keeps one when a client sends both. So the
reservation takes the largest of every cap field present: a client that sends
``max_completion_tokens: 1`` beside ``max_tokens: 150`` reserves 150, whichever one the
provider ends up reading. Choices (``n``, ``best_of``) and batched legacy prompts
multiply it.
"""

from __future__ import annotations

from typing import Any

from gateway.wire.types import Endpoint

# Every field that caps generated tokens on some provider's wire format.
_CAP_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
# OpenAI's default for legacy completions when max_tokens is absent.
LEGACY_DEFAULT_MAX_TOKENS = 16


def output_tokens(endpoint: Endpoint, body: dict[str, Any], default: int) -> int:
    """Worst-case output tokens of the whole request; ``default`` per choice when the
    client set no cap (legacy completions: OpenAI's 16). Embeddings produce none."""
    if endpoint is Endpoint.EMBEDDINGS:
        return 0
    caps = [v for name in _CAP_FIELDS if (v := _positive(body.get(name))) is not None]
    choices = _positive(body.get("n")) or 1
    if endpoint is Endpoint.COMPLETIONS:
        most = max(caps, default=LEGACY_DEFAULT_MAX_TOKENS)
        choices = max(choices, _positive(body.get("best_of")) or 1)
        prompts = body.get("prompt")
        batch = (
            len(prompts)
            if isinstance(prompts, list) and prompts and not isinstance(prompts[0], int)
            else 1
        )
        return most * choices * batch
    return max(caps, default=default) * choices


def _positive(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
