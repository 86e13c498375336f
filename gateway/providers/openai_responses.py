"""OpenAI's Responses API passed through natively (https://platform.openai.com/docs/api-reference/responses).

A ``/v1/responses`` request routed to a ``kind: openai`` target goes to the upstream's
own ``/responses``: reasoning items, ``include`` (``reasoning.encrypted_content``),
built-in tools and every other field the upstream serves travel as the client sent
them, with the stages' edits applied (``providers.native``; when those cannot be shown
to be in the body, the chat view goes to ``/chat/completions`` as for any request).

Back comes the upstream's ``Response`` (kept for the route, ``Parsed.native``) and its
chat-shaped view for the stages: the output text, function calls as ``tool_calls``,
the finish reason from ``status``/``incomplete_details`` and the usage. A stream's
events are kept in order (``StreamStep.native``) beside the chat chunks they imply:
role on ``response.created``, text deltas, function-call deltas, and at
``response.completed``/``incomplete`` the finish reason and usage (the stream's end:
OpenAI sends no ``[DONE]`` here).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from gateway.config.schema import Provider
from gateway.errors import UpstreamError
from gateway.providers import responses_chat as rc
from gateway.providers.base import (
    Parsed,
    StreamDone,
    StreamStep,
    TranslatorInput,
    UpstreamRequest,
    scrub,
)
from gateway.providers.native import native_body
from gateway.providers.openai import OpenAITranslator, join_url
from gateway.wire import normalize
from gateway.wire.sse import Event
from gateway.wire.types import Usage

_encode = msgspec.json.Encoder().encode
_ENDS = ("response.completed", "response.incomplete")
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


class ResponsesTranslator(OpenAITranslator):
    """Native when ``build_request`` could send the surface's own body; else the chat
    translator it extends, unchanged."""

    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        super().__init__(provider, request)
        self._native = False
        self._id = "chatcmpl-" + rc.new_id("resp")[5:]
        self._created = int(time.time())
        self._calls: dict[str, int] = {}  # function_call item id → tool-call index

    def build_request(self) -> UpstreamRequest:
        body = native_body(self.request, "responses", rc.request_to_chat, "max_output_tokens")
        if body is None:
            return super().build_request()
        self._native = True
        return UpstreamRequest(
            method="POST",
            url=join_url(self.provider.base_url, "responses"),
            headers=self._headers,
            content=_encode(body),
        )

    # --- response -----------------------------------------------------------------------

    def parse_response(self, content: bytes) -> Parsed:
        if not self._native:
            return super().parse_response(content)
        response = self._decode_object(content)
        if response.get("status") == "failed":
            raise self._failed(response)
        return Parsed(self._chat(response), _usage(response.get("usage")), response)

    def _chat(self, response: dict[str, Any]) -> dict[str, Any]:
        calls = [
            {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or ""},
            }
            for item in response.get("output") or ()
            if isinstance(item, dict) and item.get("type") == "function_call"
        ]
        text = rc.output_text(response)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text if text or not calls else None,
            "refusal": None,
        }
        if calls:
            message["tool_calls"] = calls
        body = {
            "id": self._id,
            "object": "chat.completion",
            "created": response.get("created_at"),
            "model": response.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _finish(response, bool(calls)),
                }
            ],
            "usage": _chat_usage(response.get("usage")),
        }
        request = self.request
        return normalize.chat_completion(body, request.reported_model, request.keep_model)

    def parse_stream_event(self, event: Event) -> StreamStep:
        if not self._native:
            return super().parse_stream_event(event)
        data = self._decode_object(event.data)
        kind = data.get("type")
        chunks: list[dict[str, Any]] = []
        if kind == "response.created":
            chunks.append(self._chunk({"role": "assistant", "content": ""}))
        elif kind == "response.output_text.delta" and data.get("delta"):
            chunks.append(self._chunk({"content": data["delta"]}))
        elif kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") == "function_call":
                index = self._calls[str(item.get("id"))] = len(self._calls)
                call = {
                    "index": index,
                    "id": item.get("call_id"),
                    "type": "function",
                    "function": {"name": item.get("name"), "arguments": ""},
                }
                chunks.append(self._chunk({"tool_calls": [call]}))
        elif kind == "response.function_call_arguments.delta" and data.get("delta"):
            found = self._calls.get(str(data.get("item_id")))
            if found is not None:
                call = {"index": found, "function": {"arguments": data["delta"]}}
                chunks.append(self._chunk({"tool_calls": [call]}))
        elif kind in _ENDS:
            response = data.get("response") or {}
            usage = _usage(response.get("usage"))
            chunks.append(self._chunk({}, _finish(response, bool(self._calls))))
            if self.request.include_usage:
                usage_chunk = {**self._chunk({}), "choices": []}
                usage_chunk["usage"] = _chat_usage(response.get("usage"))
                chunks.append(usage_chunk)
            raise StreamDone(StreamStep(chunks, usage, [data]))
        elif kind == "response.failed":
            raise self._failed(data.get("response") or {})
        elif kind == "error":
            raise self._error_from_body(502, {"error": data})
        return StreamStep(chunks, None, [data])

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        request = self.request
        chunk = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": request.reported_model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        return normalize.chat_chunk(chunk, request.reported_model, request.keep_model)

    def _failed(self, response: dict[str, Any]) -> UpstreamError:
        error = response.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        text = scrub(str(message or "response.failed"), self.provider.api_key)
        return UpstreamError(f"The upstream failed: {text}")


def _finish(response: dict[str, Any], calls: bool) -> str:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details") or {}
        return _INCOMPLETE.get(str(details.get("reason")), "length")
    return "tool_calls" if calls else "stop"


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(
        prompt_tokens=int(raw.get("input_tokens") or 0),
        completion_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=int(cached or 0),
    )


def _chat_usage(raw: object) -> dict[str, Any] | None:
    usage = _usage(raw)
    if usage is None or not isinstance(raw, dict):
        return None
    reasoning = (raw.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": int(reasoning)},
    }
