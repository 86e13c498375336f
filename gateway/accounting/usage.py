"""Usage the gateway works out itself when the upstream reports none.

Text an answer carried (message content, refusals, tool-call names and arguments;
``text`` for legacy completions) is gathered as it passes, chunk by chunk for streams,
and counted with tiktoken at the end. Such usage is marked ``estimated``.
"""

from __future__ import annotations

from typing import Any

from gateway.accounting import encodings
from gateway.accounting.tokens import count_text, encoding_model, prompt_tokens
from gateway.pipeline.context import RequestContext
from gateway.wire.types import Endpoint, Usage


def gather_chunk(chunk: dict[str, Any], into: list[str]) -> None:
    """Append the text one stream chunk carries. Hot path: a few dict lookups."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if delta is None:
            text = choice.get("text")
            if text:
                into.append(text)
            continue
        content = delta.get("content")
        if content:
            into.append(content)
        refusal = delta.get("refusal")
        if refusal:
            into.append(refusal)
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            for part in (function.get("name"), function.get("arguments")):
                if part:
                    into.append(part)


def gather_body(body: dict[str, Any], into: list[str]) -> None:
    for choice in body.get("choices") or ():
        message = choice.get("message")
        if not isinstance(message, dict):
            text = choice.get("text")
            if isinstance(text, str):
                into.append(text)
            continue
        for field in ("content", "refusal"):
            value = message.get(field)
            if isinstance(value, str):
                into.append(value)
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            for part in (function.get("name"), function.get("arguments")):
                if isinstance(part, str):
                    into.append(part)


def reported(usage: Usage | None) -> bool:
    """An upstream that reports usage never reports zero tokens for a real request
    (normalisation fills a missing embeddings usage with zeros)."""
    return usage is not None and usage.total_tokens > 0


async def estimate(ctx: RequestContext, delivered: list[str], *, prompt: bool = True) -> Usage:
    model = encoding_model(ctx)
    await encodings.ensure(model)
    prompt_count = await prompt_tokens(ctx, model) if prompt else 0
    completion = 0
    if ctx.endpoint is not Endpoint.EMBEDDINGS and delivered:
        completion = count_text("".join(delivered), model)
    return Usage(prompt_tokens=prompt_count, completion_tokens=completion, estimated=True)


def usage_json(usage: Usage, endpoint: Endpoint = Endpoint.CHAT) -> dict[str, Any]:
    """OpenAI's usage object for the endpoint (embeddings have no completion tokens)."""
    if endpoint is Endpoint.EMBEDDINGS:
        return {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def usage_chunk(last: dict[str, Any], usage: Usage, endpoint: Endpoint) -> dict[str, Any]:
    """The final chunk OpenAI sends with ``stream_options.include_usage``: no choices,
    the request's usage, the stream's id/created/model."""
    chunk: dict[str, Any] = {
        "id": last.get("id"),
        "object": "chat.completion.chunk" if endpoint is Endpoint.CHAT else "text_completion",
        "created": last.get("created"),
        "model": last.get("model"),
        "choices": [],
        "usage": usage_json(usage, endpoint),
    }
    if "system_fingerprint" in last:
        chunk["system_fingerprint"] = last["system_fingerprint"]
    return chunk
