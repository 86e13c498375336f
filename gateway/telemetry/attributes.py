"""Span attributes derived from request and response bodies (GenAI semconv v1.41.0).

Only parameters, ids, counts and finish reasons: message text is added solely by
``input_messages`` / ``output_messages``, which run only when a policy opts in.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.telemetry import semconv as sc
from gateway.wire.types import Endpoint

OPERATIONS = {
    Endpoint.CHAT: "chat",
    Endpoint.COMPLETIONS: "text_completion",
    Endpoint.EMBEDDINGS: "embeddings",
}
_NUMBERS = (
    ("temperature", sc.REQUEST_TEMPERATURE),
    ("top_p", sc.REQUEST_TOP_P),
    ("top_k", sc.REQUEST_TOP_K),
    ("frequency_penalty", sc.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.REQUEST_PRESENCE_PENALTY),
)
_OUTPUT_TYPES = {"json_object": "json", "json_schema": "json", "text": "text"}
_encode = msgspec.json.Encoder().encode


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def request_attributes(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if endpoint is Endpoint.EMBEDDINGS:
        encoding = body.get("encoding_format")
        if isinstance(encoding, str):
            attributes[sc.REQUEST_ENCODING_FORMATS] = [encoding]
        return attributes
    for key, name in _NUMBERS:
        value = body.get(key)
        if _number(value):
            attributes[name] = float(value)  # type: ignore[arg-type]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        attributes[sc.REQUEST_MAX_TOKENS] = max_tokens
    seed = body.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        attributes[sc.REQUEST_SEED] = seed
    n = body.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n != 1:
        attributes[sc.REQUEST_CHOICE_COUNT] = n
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes[sc.REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes[sc.REQUEST_STOP_SEQUENCES] = stop
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        output = _OUTPUT_TYPES.get(str(response_format.get("type")))
        if output:
            attributes[sc.OUTPUT_TYPE] = output
    return attributes


def response_attributes(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    response_id = body.get("id")
    if isinstance(response_id, str):
        attributes[sc.RESPONSE_ID] = response_id
    model = body.get("model")
    if isinstance(model, str):
        attributes[sc.RESPONSE_MODEL] = model
    if endpoint is Endpoint.EMBEDDINGS:
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            vector = data[0].get("embedding")
            if isinstance(vector, list):
                attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        return attributes
    reasons = [
        str(choice.get("finish_reason"))
        for choice in body.get("choices") or ()
        if isinstance(choice, dict) and choice.get("finish_reason") is not None
    ]
    if reasons:
        attributes[sc.RESPONSE_FINISH_REASONS] = reasons
    return attributes


def input_messages(endpoint: Endpoint, body: dict[str, Any]) -> str:
    """``gen_ai.input.messages`` (opt-in): the conversation as role + parts JSON."""
    if endpoint is Endpoint.CHAT:
        messages = []
        for message in body.get("messages") or ():
            if isinstance(message, dict):
                messages.append(
                    {"role": message.get("role"), "parts": _parts(message.get("content"))}
                )
        return _encode(messages).decode()
    prompt = body.get("prompt") if endpoint is Endpoint.COMPLETIONS else body.get("input")
    return _encode([{"role": "user", "parts": _parts(prompt)}]).decode()


def output_messages(texts: dict[int, str], finish_reasons: dict[int, str] | None) -> str:
    reasons = finish_reasons or {}
    return _encode(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": text}],
                "finish_reason": reasons.get(index, ""),
            }
            for index, text in sorted(texts.items())
        ]
    ).decode()


def body_output_texts(body: dict[str, Any]) -> dict[int, str]:
    texts: dict[int, str] = {}
    for position, choice in enumerate(body.get("choices") or ()):
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else choice.get("text")
        texts[int(choice.get("index", position))] = text if isinstance(text, str) else ""
    return texts


def _parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append({"type": "text", "content": part["text"]})
            elif isinstance(part, str):
                parts.append({"type": "text", "content": part})
    return parts
