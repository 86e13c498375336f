"""Repair upstream bodies into what OpenAI's schemas require, whatever the upstream sent.

OpenAI-compatible servers (llama.cpp, vLLM, trtllm-serve) omit fields the official
schemas mark required: ``message.refusal``, ``choices[].logprobs``, a stream chunk's
``finish_reason``. Clients generated from the spec (and strict validators) reject such
bodies, so every body passes through here.

``model`` is the name to report. With ``keep_model`` the upstream's own name wins when
it sent one: for a target that is not an alias, its dated snapshot name ("gpt-4o-mini-
2024-07-18") tells the client more than ours; for an alias it would leak internals.

The functions mutate in place: they run once per response or chunk on a dict that
nobody else holds.
"""

from __future__ import annotations

import time
from typing import Any

_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
_COMPLETION_FINISH_REASONS = frozenset({"stop", "length", "content_filter"})


def chat_completion(body: dict[str, Any], model: str, keep_model: bool = False) -> dict[str, Any]:
    _envelope(body, "chat.completion", model, keep_model)
    choices = body.get("choices")
    if not isinstance(choices, list):
        body["choices"] = choices = []
    for i, choice in enumerate(choices):
        message = choice.get("message")
        if not isinstance(message, dict):
            choice["message"] = message = {}
        message.setdefault("role", "assistant")
        message.setdefault("content", None)
        message.setdefault("refusal", None)
        for call in message.get("tool_calls") or ():
            call.setdefault("type", "function")
        if not message.get("tool_calls"):
            message.pop("tool_calls", None)
        choice.setdefault("index", i)
        choice.setdefault("logprobs", None)
        reason = choice.get("finish_reason")
        if reason not in _FINISH_REASONS:
            choice["finish_reason"] = "tool_calls" if message.get("tool_calls") else "stop"
    _usage(body)
    return body


def chat_chunk(chunk: dict[str, Any], model: str, keep_model: bool = False) -> dict[str, Any]:
    _envelope(chunk, "chat.completion.chunk", model, keep_model)
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        chunk["choices"] = choices = []
    for i, choice in enumerate(choices):
        if not isinstance(choice.get("delta"), dict):
            choice["delta"] = {}
        choice.setdefault("index", i)
        reason = choice.get("finish_reason")
        if reason is not None and reason not in _FINISH_REASONS:
            choice["finish_reason"] = "stop"
        elif "finish_reason" not in choice:
            choice["finish_reason"] = None
    if chunk.get("usage") is not None:
        _usage(chunk)
    return chunk


def completion(
    body: dict[str, Any], model: str, keep_model: bool = False, *, streaming: bool = False
) -> dict[str, Any]:
    _envelope(body, "text_completion", model, keep_model)
    choices = body.get("choices")
    if not isinstance(choices, list):
        body["choices"] = choices = []
    for i, choice in enumerate(choices):
        choice.setdefault("text", "")
        choice.setdefault("index", i)
        choice.setdefault("logprobs", None)
        reason = choice.get("finish_reason")
        if reason not in _COMPLETION_FINISH_REASONS and not (streaming and reason is None):
            choice["finish_reason"] = "stop"
        elif "finish_reason" not in choice:
            choice["finish_reason"] = None
    if body.get("usage") is not None or not streaming:
        _usage(body)
    return body


def embeddings(body: dict[str, Any], model: str, keep_model: bool = False) -> dict[str, Any]:
    body["object"] = "list"
    if not (keep_model and isinstance(body.get("model"), str)):
        body["model"] = model
    data = body.get("data")
    if not isinstance(data, list):
        body["data"] = data = []
    for i, item in enumerate(data):
        item["object"] = "embedding"
        item.setdefault("index", i)
    usage = body.get("usage")
    if not isinstance(usage, dict):
        body["usage"] = usage = {}
    prompt = _int(usage.get("prompt_tokens"))
    usage["prompt_tokens"] = prompt
    usage["total_tokens"] = _int(usage.get("total_tokens")) or prompt
    return body


def _envelope(body: dict[str, Any], kind: str, model: str, keep_model: bool) -> None:
    body["object"] = kind
    if not (keep_model and isinstance(body.get("model"), str)):
        body["model"] = model
    if not isinstance(body.get("id"), str):
        body["id"] = str(body.get("id") or f"gen-{time.time_ns():x}")
    if not isinstance(body.get("created"), int):
        body["created"] = int(time.time())


def _usage(body: dict[str, Any]) -> None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        body.pop("usage", None)
        return
    prompt = _int(usage.get("prompt_tokens"))
    completion_tokens = _int(usage.get("completion_tokens"))
    usage["prompt_tokens"] = prompt
    usage["completion_tokens"] = completion_tokens
    usage["total_tokens"] = _int(usage.get("total_tokens")) or prompt + completion_tokens


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
