"""Anthropic's Messages API (https://docs.anthropic.com/en/api/messages), both ways.

Requests: system and developer messages become the top-level ``system``; ``tool``
messages become ``tool_result`` blocks in the next user turn (consecutive turns of one
role are merged, tool results first, as the API requires); assistant ``tool_calls``
become ``tool_use`` blocks; image parts become image blocks; ``tools``,
``tool_choice`` (``required`` → ``any``, a named function → ``tool``,
``parallel_tool_calls: false`` → ``disable_parallel_tool_use``), ``stop`` →
``stop_sequences``, ``user`` → ``metadata.user_id``. ``max_tokens`` is required
upstream: the client's, else the provider's ``max_tokens``, else the model's maximum
output (a fixed 4096 would cut long answers that OpenAI would finish). ``temperature``
is capped at 1 (Anthropic's range is 0..1); sampling knobs the model rejects
(``policies/capabilities.yaml``) are dropped. ``response_format: json_schema`` uses
native structured outputs or a forced tool, per model (``_structured_output``); its
tool call comes back as the message content. ``n > 1``, ``logprobs`` and audio are
refused with 400 rather than silently ignored. OpenAI-only knobs without an equivalent
(penalties, ``seed``, ``logit_bias``, ``store``, ...) are dropped.

Extended thinking: ``reasoning_effort`` becomes a thinking budget or, on adaptive
models, ``output_config.effort``; ``thinking`` and ``output_config`` from
``extra_body`` are sent as given (see ``anthropic_messages._reasoning``). Thinking comes
back as ``reasoning_content`` plus ``thinking_blocks`` (with their signatures; streamed
as ``reasoning_content`` deltas and one ``thinking_blocks`` delta per signed block), and
``thinking_blocks`` on an assistant message go back upstream first in its turn.

Responses and streams come back as OpenAI chat completions and chunks: text blocks
joined, ``tool_use`` as ``tool_calls`` (arguments as JSON text), stop reasons mapped to
finish reasons, usage with prompt tokens = input + cache reads + cache writes,
``cached_tokens`` = cache reads and ``completion_tokens_details.reasoning_tokens`` =
thinking tokens; a refusal's ``stop_details`` stays on the choice, its explanation
becoming ``message.refusal`` (``delta.refusal`` in a stream). In a stream, the role
goes on the first chunk that carries content, so an ``overloaded_error`` event before
any content fails the attempt early enough to be retried elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.config.schema import Provider
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.anthropic_messages import STRUCTURED_TOOL, to_messages
from gateway.providers.base import (
    NOTHING,
    Parsed,
    ProviderKind,
    StreamDone,
    StreamStep,
    TranslatorInput,
    UpstreamRequest,
    scrub,
)
from gateway.providers.capabilities import capabilities_for
from gateway.providers.openai import join_url
from gateway.wire.sse import Event
from gateway.wire.types import Endpoint, Usage

DEFAULT_VERSION = "2023-06-01"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_PASSTHROUGH = frozenset({400, 404, 413})
_RETRY_HEADERS = ("retry-after", "retry-after-ms")


def messages_url(base_url: str, path: str = "messages") -> str:
    base = base_url.rstrip("/")
    return f"{base}/{path}" if base.endswith("/v1") else f"{base}/v1/{path}"


class AnthropicTranslator:
    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        self.provider = provider
        self.request = request
        # Stream state: the message id, whether the role went out, tool-call numbering.
        self._id = ""
        self._created = int(time.time())
        self._model = request.reported_model
        self._role_sent = False
        self._tool_index: dict[int, int] = {}
        self._input: dict[str, Any] = {}
        # Thinking text streamed so far, per block index (sent whole with its signature).
        self._thinking: dict[int, str] = {}
        # Thinking tokens within the output (usage.output_tokens_details), if reported.
        # Structured output by forced tool: its tool_use is the answer's content.
        self._structured = False
        self._answer_blocks: set[int] = set()

    # --- request ------------------------------------------------------------------------

    def build_request(self) -> UpstreamRequest:
        request = self.request
        if request.endpoint is not Endpoint.CHAT:
            raise InvalidRequestError(
                f"Anthropic models do not serve /v1/{request.endpoint.value}.",
                param="model",
                code="unsupported_endpoint",
            )
        caps = capabilities_for("anthropic", request.upstream_model, self.provider.capabilities)
        body = to_messages(request.body, request.upstream_model, self.provider.max_tokens, caps)
        self._structured = (body.get("tool_choice") or {}).get("name") == STRUCTURED_TOOL
        if request.stream:
            body["stream"] = True
        return self.messages_request(body)

    def messages_request(self, body: dict[str, Any], beta: str | None = None) -> UpstreamRequest:
        """``POST /v1/messages`` with this provider's auth and version (``beta``: the
        client's ``anthropic-beta``, on native pass-through)."""
        headers = {
            "content-type": "application/json",
            "anthropic-version": self.provider.api_version or DEFAULT_VERSION,
        }
        if beta:
            headers["anthropic-beta"] = beta
        if self.provider.api_key:
            headers["x-api-key"] = self.provider.api_key
        headers.update(self.provider.headers)
        headers.update(self.request.trace_headers)
        return UpstreamRequest("POST", messages_url(self.provider.base_url), headers, _encode(body))

    # --- response -----------------------------------------------------------------------

    def parse_response(self, content: bytes) -> Parsed:
        message = _decode_object(content)
        text: list[str] = []
        calls: list[dict[str, Any]] = []
        thoughts: list[dict[str, Any]] = []
        for block in message.get("content") or ():
            kind = block.get("type")
            if kind == "text":
                text.append(block.get("text") or "")
            elif kind in ("thinking", "redacted_thinking"):
                thoughts.append(block)
            elif kind == "tool_use" and self._is_answer(block):
                text.append(_encode(block.get("input") or {}).decode())
            elif kind == "tool_use":
                calls.append(
                    {
                        "id": block.get("id"),
                        "type": "function",
                        "function": {
                            "name": block.get("name"),
                            "arguments": _encode(block.get("input") or {}).decode(),
                        },
                    }
                )
        reply: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text) if text or not calls else None,
            "refusal": None,
        }
        if calls:
            reply["tool_calls"] = calls
        if thoughts:
            reply.update(_reasoning_fields(thoughts))
        choice: dict[str, Any] = {
            "index": 0,
            "message": reply,
            "logprobs": None,
            "finish_reason": self._finish(message.get("stop_reason")),
        }
        _add_stop_details(choice, reply, message.get("stop_details"))
        usage = _usage(message.get("usage"))
        body = {
            "id": _chat_id(message.get("id")),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._reported(message.get("model")),
            "choices": [choice],
            "usage": _usage_json(usage, _thinking_tokens(message.get("usage"))),
        }
        return Parsed(body, usage)

    def parse_stream_event(self, event: Event) -> StreamStep:
        data = _decode_object(event.data)
        kind = data.get("type") or event.event
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return StreamStep([self._chunk({"content": delta["text"]})])
            if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                if data.get("index", -1) in self._answer_blocks:
                    return StreamStep([self._chunk({"content": delta["partial_json"]})])
                index = self._tool_index.get(data.get("index", -1))
                if index is not None:
                    call = {"index": index, "function": {"arguments": delta["partial_json"]}}
                    return StreamStep([self._chunk({"tool_calls": [call]})])
            block_index = data.get("index", -1)
            if delta.get("type") == "thinking_delta" and delta.get("thinking"):
                thought = self._thinking.get(block_index, "") + delta["thinking"]
                self._thinking[block_index] = thought
                return StreamStep([self._chunk({"reasoning_content": delta["thinking"]})])
            if delta.get("type") == "signature_delta" and delta.get("signature"):
                block = {
                    "type": "thinking",
                    "thinking": self._thinking.get(block_index, ""),
                    "signature": delta["signature"],
                }
                return StreamStep([self._chunk({"thinking_blocks": [block]})])
            return NOTHING
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use" and self._is_answer(block):
                self._answer_blocks.add(data.get("index", -1))
                return NOTHING
            if block.get("type") == "tool_use":
                index = self._tool_index[data.get("index", -1)] = len(self._tool_index)
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                return StreamStep([self._chunk({"content": None, "tool_calls": [call]})])
            if block.get("type") == "text" and block.get("text"):
                return StreamStep([self._chunk({"content": block["text"]})])
            if block.get("type") == "redacted_thinking":
                return StreamStep([self._chunk({"thinking_blocks": [block]})])
            return NOTHING
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = _chat_id(message.get("id"))
            self._model = self._reported(message.get("model"))
            self._input = message.get("usage") or {}
            return StreamStep([], _usage(self._input))
        if kind == "message_delta":
            reported = {**self._input, **(data.get("usage") or {})}
            usage = _usage(reported)
            delta = data.get("delta") or {}
            chunks = [self._chunk({}, self._finish(delta.get("stop_reason")))]
            choice = chunks[0]["choices"][0]
            _add_stop_details(choice, choice["delta"], delta.get("stop_details"))
            if self.request.include_usage:
                chunks.append(self._envelope([], _usage_json(usage, _thinking_tokens(reported))))
            return StreamStep(chunks, usage)
        if kind == "message_stop":
            raise StreamDone
        if kind == "error":
            raise self._error(502, data)
        return NOTHING  # ping, content_block_stop, and event types added later

    def _is_answer(self, block: dict[str, Any]) -> bool:
        return self._structured and block.get("name") == STRUCTURED_TOOL

    def _finish(self, reason: object) -> str:
        # The forced answer tool ends with tool_use: for the client, a finished answer.
        return "stop" if self._structured and reason == "tool_use" else _finish(reason)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
            delta.setdefault("content", "")
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._envelope([choice])

    def _envelope(
        self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._id or _chat_id(None),
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def _reported(self, upstream_model: object) -> str:
        request = self.request
        if request.keep_model and isinstance(upstream_model, str) and upstream_model:
            return upstream_model
        return request.reported_model

    # --- errors -------------------------------------------------------------------------

    def parse_error(self, status: int, content: bytes, headers: Mapping[str, str]) -> GatewayError:
        try:
            body = _decode(content)
        except (msgspec.DecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            text = content[:500].decode("utf-8", "replace").strip()
            body = {"error": {"type": "api_error", "message": text}}
        error = self._error(status, body)
        error.headers.update({k: headers[k] for k in _RETRY_HEADERS if k in headers})
        return error

    def _error(self, status: int, body: dict[str, Any]) -> GatewayError:
        """``{"type": "error", "error": {"type", "message"}}``, from a status or a stream
        ``error`` event (where the type alone says what happened)."""
        error = body.get("error")
        detail: dict[str, Any] = error if isinstance(error, dict) else {}
        kind = str(detail.get("type") or "")
        message = scrub(
            str(detail.get("message") or f"upstream status {status}"), self.provider.api_key
        )
        if kind == "overloaded_error" or status == 529 or status == 503:
            return ServiceUnavailableError(f"The upstream is overloaded: {message}")
        if kind == "rate_limit_error" or status == 429:
            return RateLimitError(f"The upstream is rate limiting: {message}")
        if kind in ("authentication_error", "permission_error") or status in (401, 403):
            return UpstreamError(
                "The upstream provider rejected the gateway's credentials.",
                code="upstream_auth_error",
            )
        if kind == "timeout_error" or status == 504:
            return UpstreamTimeoutError("The upstream timed out.")
        if status in _PASSTHROUGH:
            return UpstreamStatusError(status, message, type="invalid_request_error")
        return UpstreamError(f"The upstream failed (status {status}): {message}")


def _add_stop_details(choice: dict[str, Any], message: dict[str, Any], details: object) -> None:
    """A refusal's ``stop_details`` (category, explanation): kept on the choice, and its
    explanation as OpenAI's ``refusal`` text, where OpenAI clients look for one."""
    if not isinstance(details, dict):
        return
    choice["stop_details"] = details
    if details.get("type") == "refusal":
        explanation = details.get("explanation")
        category = details.get("category")
        message["refusal"] = (
            explanation
            if isinstance(explanation, str) and explanation
            else f"The model refused ({category or 'unspecified'})."
        )


def _reasoning_fields(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Thinking as other OpenAI-compatible gateways return it: the text as
    ``reasoning_content``, the blocks with their signatures as ``thinking_blocks`` (sent
    back on the assistant message, they round-trip in multi-turn tool use)."""
    text = "".join(b.get("thinking") or "" for b in blocks if b.get("type") == "thinking")
    return {"reasoning_content": text, "thinking_blocks": blocks}


def _decode_object(content: bytes) -> dict[str, Any]:
    try:
        body = _decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise UpstreamError("The upstream returned a malformed response.", code="bad_response")
    return body


def _finish(reason: object) -> str:
    return _STOP_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop"


def _chat_id(message_id: object) -> str:
    return (
        f"chatcmpl-{message_id}"
        if isinstance(message_id, str) and message_id
        else (f"chatcmpl-{time.time_ns():x}")
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(usage: object) -> Usage | None:
    """Anthropic's usage as OpenAI counts it: prompt tokens include cache reads and
    writes (billed apart, so writes are kept too)."""
    if not isinstance(usage, dict):
        return None
    read = _int(usage.get("cache_read_input_tokens"))
    written = _int(usage.get("cache_creation_input_tokens"))
    return Usage(
        prompt_tokens=_int(usage.get("input_tokens")) + read + written,
        completion_tokens=_int(usage.get("output_tokens")),
        cached_tokens=read,
        cache_write_tokens=written,
    )


def _thinking_tokens(usage: object) -> int | None:
    """Anthropic's count of thinking tokens (``output_tokens_details``), when reported."""
    details = usage.get("output_tokens_details") if isinstance(usage, dict) else None
    if isinstance(details, dict) and "thinking_tokens" in details:
        return _int(details["thinking_tokens"])
    return None


def _usage_json(usage: Usage | None, reasoning_tokens: int | None = None) -> dict[str, Any]:
    usage = usage or Usage()
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        **(
            {"completion_tokens_details": {"reasoning_tokens": reasoning_tokens}}
            if reasoning_tokens is not None
            else {}
        ),
    }


def health_request(provider: Provider) -> UpstreamRequest:
    """``GET /v1/models``: authenticated, spends no tokens."""
    assert provider.health is not None
    headers = {"anthropic-version": provider.api_version or DEFAULT_VERSION}
    if provider.api_key:
        headers["x-api-key"] = provider.api_key
    headers.update(provider.headers)
    if provider.health.path:
        return UpstreamRequest(
            "GET", join_url(provider.base_url, provider.health.path), headers, b""
        )
    return UpstreamRequest("GET", messages_url(provider.base_url, "models"), headers, b"")


KIND = ProviderKind("anthropic", AnthropicTranslator, health_request, "anthropic")
