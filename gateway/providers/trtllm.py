"""TensorRT-LLM's ``trtllm-serve``: OpenAI-like, with quirks the client must not see.

Written against ``docs/reference/trtllm-serve.md`` (``openai_protocol.py`` and
``openai_server.py`` of NVIDIA/TensorRT-LLM). Each quirk and what is done about it:

- Request models forbid unknown fields (any one is a 400), so the body is cut down to
  exactly what each endpoint's request model declares (``CHAT_FIELDS`` ...), engine
  extras included (``early_stopping``, ``thinking_token_budget``, ``cache_salt`` on
  chat only, ...). OpenAI fields the engine does not declare are dropped when they
  only tune delivery (``store``, ``metadata``, ``service_tier``, ``prediction``,
  ``verbosity``, ``prompt_cache_key``, ``safety_identifier``) and refused with 400
  when dropping would change the answer (a completions ``suffix``, ``functions`` /
  ``function_call``, audio output, ``web_search_options``).
- ``max_tokens``/``max_completion_tokens`` are one field: sent once, as ``max_tokens``.
  ``developer`` messages become ``system`` (chat templates rarely know the role).
- ``stream_options`` is refused without ``stream``: dropped then. Inside it
  ``include_usage`` defaults to true, so streams always ask for it explicitly and the
  usage chunk reaches the client only if it asked (the gateway keeps the usage).
- Non-streaming bodies carry engine-only keys (``stop_reason``,
  ``disaggregated_params``, ``avg_decoded_tokens_per_iter``, ``prompt_token_ids``,
  null ``reasoning_content``): removed. ``message.refusal`` and a chunk's
  ``finish_reason: null`` are added by ``wire.normalize``.
- The first SSE line ends in a space before the blank line: the SSE decoder keeps it,
  msgspec skips trailing whitespace.
- The first chunk of each choice is role-only. It is held back and its role put on the
  choice's first real delta, so an engine that dies before its first token fails the
  attempt before anything reached the client, and the request can go elsewhere.
- Errors are ``{"object": "error", "message", "type", "code": <int>}`` or, for
  validation failures, ``{"error": "<text>"}``: both become OpenAI's shape.
- ``x-session-id`` is forwarded: the engine's own router uses it as a conversation id.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.config.schema import Provider
from gateway.errors import GatewayError, InvalidRequestError
from gateway.providers.base import (
    Parsed,
    ProviderKind,
    StreamDone,
    StreamStep,
    TranslatorInput,
    UpstreamRequest,
)
from gateway.providers.openai import OpenAITranslator, join_url
from gateway.wire.sse import Event
from gateway.wire.types import Endpoint

_OPENAI_SAMPLING = (
    "model", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
    "presence_penalty", "response_format", "seed", "stop", "stream", "stream_options",
    "temperature", "top_p", "user",
)  # fmt: skip
# Declared by both request models (``CompletionRequest``, ``ChatCompletionRequest``).
_ENGINE_SAMPLING = (
    "lora_request", "prompt_ignore_length", "use_beam_search", "top_k", "top_p_min",
    "min_p", "repetition_penalty", "length_penalty", "early_stopping", "stop_token_ids",
    "include_stop_str_in_output", "ignore_eos", "min_tokens", "skip_special_tokens",
    "spaces_between_special_tokens", "truncate_prompt_tokens", "add_special_tokens",
    "disaggregated_params", "priority", "conversation_params", "best_of",
    "thinking_token_budget", "echo",
)  # fmt: skip
# What the pinned openai_protocol.py declares per request model; keep in step with the
# deployed version (https://github.com/NVIDIA/TensorRT-LLM, tensorrt_llm/serve/
# openai_protocol.py: ChatCompletionRequest, CompletionRequest, EmbeddingRequest).
CHAT_FIELDS = frozenset(
    (
        *_OPENAI_SAMPLING,
        *_ENGINE_SAMPLING,
        "messages", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls",
        "reasoning_effort", "thinking", "chat_template_kwargs", "add_generation_prompt",
        "documents", "chat_template", "injected_chat_template_kwargs", "media_io_kwargs",
        "mm_processor_kwargs", "cache_salt", "agent_hierarchy", "prompt_token_ids",
        "prompt_token_ids_b64",
    )
)  # fmt: skip
# No cache_salt here: CompletionRequest does not declare it (a 400 if sent).
COMPLETION_FIELDS = frozenset(
    (
        *_OPENAI_SAMPLING,
        *_ENGINE_SAMPLING,
        "prompt", "suffix", "return_context_logits", "detokenize",
    )
)  # fmt: skip
EMBEDDING_FIELDS = frozenset(
    ("model", "input", "encoding_format", "dimensions", "user", "add_special_tokens")
)
_FIELDS = {
    Endpoint.CHAT: CHAT_FIELDS,
    Endpoint.COMPLETIONS: COMPLETION_FIELDS,
    Endpoint.EMBEDDINGS: EMBEDDING_FIELDS,
}
_ENGINE_CHOICE_KEYS = (
    "stop_reason", "disaggregated_params", "avg_decoded_tokens_per_iter",
    "mm_embedding_handle", "token_ids", "context_logits",
)  # fmt: skip
_ENGINE_BODY_KEYS = ("prompt_token_ids", "prompt_token_ids_b64")
_NULLABLE_MESSAGE_KEYS = ("reasoning_content", "reasoning")
_PASSTHROUGH = frozenset({400, 404, 413, 422})
_encode = msgspec.json.Encoder().encode


def engine_root(base_url: str) -> str:
    """The server root: ``base_url`` may be given with or without its ``/v1``."""
    root = base_url.rstrip("/")
    return root[:-3] if root.endswith("/v1") else root


class TrtllmTranslator(OpenAITranslator):
    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        super().__init__(provider, request)
        self._pending_roles: set[int] = set()

    def build_request(self) -> UpstreamRequest:
        request = self.request
        body = self.prepare_body(dict(request.body))
        return UpstreamRequest(
            method="POST",
            url=f"{engine_root(self.provider.base_url)}/v1/{request.endpoint.value}",
            headers=self._headers,
            content=_encode(body),
        )

    def prepare_body(self, body: dict[str, Any]) -> dict[str, Any]:
        request = self.request
        _refuse_meaningful(body)
        if "max_completion_tokens" in body:
            limit = body.pop("max_completion_tokens")
            if body.get("max_tokens") is None:
                body["max_tokens"] = limit
        allowed = _FIELDS[request.endpoint]
        body = {k: v for k, v in body.items() if k in allowed}
        body["model"] = request.upstream_model
        if request.stream:
            options = body.get("stream_options")
            wanted = options if isinstance(options, dict) else {}
            body["stream_options"] = {"include_usage": True}
            if wanted.get("continuous_usage_stats"):
                body["stream_options"]["continuous_usage_stats"] = True
        else:
            body.pop("stream_options", None)
        messages = body.get("messages")
        if isinstance(messages, list) and any(
            isinstance(m, dict) and m.get("role") == "developer" for m in messages
        ):
            body["messages"] = [
                {**m, "role": "system"} if m.get("role") == "developer" else m for m in messages
            ]
        return body

    def _base_headers(self) -> dict[str, str]:
        headers = super()._base_headers()
        if self.request.session_id:
            headers["x-session-id"] = self.request.session_id
        return headers

    # --- response -----------------------------------------------------------------------

    def parse_response(self, content: bytes) -> Parsed:
        body = self._decode_object(content)
        _strip_engine_keys(body)
        return self.parse_body(body)

    def parse_stream_event(self, event: Event) -> StreamStep:
        if event.data == b"[DONE]":
            raise StreamDone
        chunk = self._decode_object(event.data)
        _strip_engine_keys(chunk)
        step = self.parse_chunk(chunk)
        for chunk in step.chunks:
            choices = chunk["choices"]
            if choices and all(_role_only(c) for c in choices):
                self._pending_roles.update(c["index"] for c in choices)
                return StreamStep([], step.usage)
            for choice in choices:
                _strip_choice(choice)
                if self._pending_roles and choice["index"] in self._pending_roles:
                    self._pending_roles.discard(choice["index"])
                    choice["delta"] = {"role": "assistant", **choice["delta"]}
        return step

    # --- errors -------------------------------------------------------------------------

    def _error_from_body(self, status: int, body: dict[str, Any]) -> GatewayError:
        if body.get("object") == "error" or not isinstance(body.get("error"), dict):
            # {"object": "error", ..., "code": 400} or {"error": "<validation text>"}:
            # the type and integer code are the engine's, not OpenAI's.
            message = body.get("message") if body.get("object") == "error" else body.get("error")
            detail = {
                "message": message if isinstance(message, str) else None,
                "type": "invalid_request_error" if status in _PASSTHROUGH else None,
                "param": body.get("param"),
                "code": None,
            }
            body = {"error": detail}
        return super()._error_from_body(status, body)


def _refuse_meaningful(body: dict[str, Any]) -> None:
    """OpenAI fields the engine lacks whose loss would change the answer: 400, not a
    silent drop (a completion without its ``suffix``, legacy ``functions`` never
    called, audio or web search never done)."""
    modalities = body.get("modalities")
    wants_audio = isinstance(modalities, list) and "audio" in modalities
    for name in ("suffix", "functions", "function_call", "audio", "web_search_options"):
        if body.get(name) or (name == "audio" and wants_audio):
            raise InvalidRequestError(
                f"{name!r} is not supported by this model.",
                param="modalities" if name == "audio" and wants_audio else name,
                code="unsupported_parameter",
            )


def _role_only(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    return (
        isinstance(delta, dict)
        and delta.get("role") is not None
        and not delta.get("content")
        and not delta.get("tool_calls")
        and choice.get("finish_reason") is None
    )


def _strip_choice(choice: dict[str, Any]) -> None:
    for key in _ENGINE_CHOICE_KEYS:
        choice.pop(key, None)
    for holder in (choice.get("message"), choice.get("delta")):
        if isinstance(holder, dict):
            for key in _NULLABLE_MESSAGE_KEYS:
                if key in holder and holder[key] is None:
                    del holder[key]


def _strip_engine_keys(body: dict[str, Any]) -> None:
    for key in _ENGINE_BODY_KEYS:
        body.pop(key, None)
    usage = body.get("usage")
    if isinstance(usage, dict) and usage.get("prompt_tokens_details") is None:
        usage.pop("prompt_tokens_details", None)
    for choice in body.get("choices") or ():
        if isinstance(choice, dict):
            _strip_choice(choice)


def health_request(provider: Provider) -> UpstreamRequest:
    """``GET /health`` at the server root: 200 healthy, 503 not. The port opens only
    once the model has loaded, so "connection refused" reads as starting, not broken."""
    assert provider.health is not None
    headers = dict(provider.headers)
    if provider.health.path:
        return UpstreamRequest(
            "GET", join_url(provider.base_url, provider.health.path), headers, b""
        )
    return UpstreamRequest("GET", f"{engine_root(provider.base_url)}/health", headers, b"")


KIND = ProviderKind(
    "trtllm",
    TrtllmTranslator,
    health_request,
    "tensorrt_llm",
    engine_load=True,
    engine_root=engine_root,
)
