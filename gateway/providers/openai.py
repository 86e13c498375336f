"""OpenAI's own wire protocol (https://platform.openai.com/docs/api-reference).

The request body is the client's, with the upstream model name swapped in and the stream
usage chunk requested; responses and chunks are repaired into OpenAI's schemas (a no-op
for OpenAI itself, essential for the compatible servers that reuse this translator).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.config.schema import Provider
from gateway.errors import (
    GatewayError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
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
from gateway.wire import normalize
from gateway.wire.sse import Event
from gateway.wire.types import Endpoint, Usage

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_PASSTHROUGH_STATUSES = frozenset({400, 404, 409, 413, 415, 422})
_RETRY_HEADERS = ("retry-after", "retry-after-ms")


class OpenAITranslator:
    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        self.provider = provider
        self.request = request
        self._headers = self._base_headers()

    # --- request ------------------------------------------------------------------------

    def build_request(self) -> UpstreamRequest:
        request = self.request
        body = self.prepare_body(dict(request.body))
        return UpstreamRequest(
            method="POST",
            url=f"{self.provider.base_url.rstrip('/')}/{request.endpoint.value}",
            headers=self._headers,
            content=_encode(body),
        )

    def prepare_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """The client's body for this upstream; subclasses adjust dialect differences."""
        body["model"] = self.request.upstream_model
        if self.request.stream and self.provider.stream_usage:
            options = body.get("stream_options")
            body["stream_options"] = {**(options or {}), "include_usage": True}
        return body

    def _base_headers(self) -> dict[str, str]:
        # OpenAI's own correlation header. Not x-request-id: llama.cpp's server rejects
        # any x-request-id that is not a UUID with a bare 400.
        headers = {
            "content-type": "application/json",
            "x-client-request-id": self.request.request_id,
        }
        headers.update(self.provider.headers)
        if self.provider.api_key:
            headers["authorization"] = f"Bearer {self.provider.api_key}"
        headers.update(self.request.trace_headers)
        return headers

    # --- response -----------------------------------------------------------------------

    def parse_response(self, content: bytes) -> Parsed:
        return self.parse_body(self._decode_object(content))

    def parse_body(self, body: dict[str, Any]) -> Parsed:
        """A decoded response body, repaired into OpenAI's schema."""
        request = self.request
        if request.endpoint is Endpoint.CHAT:
            normalize.chat_completion(body, request.reported_model, request.keep_model)
        elif request.endpoint is Endpoint.COMPLETIONS:
            normalize.completion(body, request.reported_model, request.keep_model)
        else:
            normalize.embeddings(body, request.reported_model, request.keep_model)
        return Parsed(body, _usage(body.get("usage")))

    def parse_stream_event(self, event: Event) -> StreamStep:
        data = event.data
        if data == b"[DONE]":
            raise StreamDone
        return self.parse_chunk(self._decode_object(data))

    def parse_chunk(self, chunk: dict[str, Any]) -> StreamStep:
        """A decoded stream chunk → what the client gets (zero or one chunk)."""
        if "error" in chunk and "choices" not in chunk:
            raise self._error_from_body(502, chunk)
        request = self.request
        if request.endpoint is Endpoint.CHAT:
            normalize.chat_chunk(chunk, request.reported_model, request.keep_model)
        else:
            normalize.completion(chunk, request.reported_model, request.keep_model, streaming=True)
        raw = chunk.get("usage")
        if raw is not None:
            usage = _usage(raw)
            if not request.include_usage:
                if not chunk["choices"]:
                    return StreamStep([], usage)
                del chunk["usage"]
            return StreamStep([chunk], usage)
        if not chunk["choices"]:
            # Nothing a client can use (Azure's leading prompt-filter chunk): clients that
            # read choices[0] of every chunk would crash on it.
            return NOTHING
        return StreamStep([chunk])

    def _decode_object(self, content: bytes) -> dict[str, Any]:
        try:
            body = _decode(content)
        except (msgspec.DecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise UpstreamError("The upstream returned a malformed response.", code="bad_response")
        return body

    # --- errors -------------------------------------------------------------------------

    def parse_error(self, status: int, content: bytes, headers: Mapping[str, str]) -> GatewayError:
        try:
            body = _decode(content)
        except (msgspec.DecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            body = {"error": {"message": content[:500].decode("utf-8", "replace").strip()}}
        error = self._error_from_body(status, body)
        error.headers.update({k: headers[k] for k in _RETRY_HEADERS if k in headers})
        return error

    def _error_from_body(self, status: int, body: dict[str, Any]) -> GatewayError:
        detail = body.get("error")
        if not isinstance(detail, dict):
            detail = {"message": detail if isinstance(detail, str) else body.get("message")}
        message = scrub(
            str(detail.get("message") or f"upstream status {status}"), self.provider.api_key
        )
        code = detail.get("code")
        code_text = str(code) if code is not None else None
        param = detail.get("param")
        param_text = param if isinstance(param, str) else None
        if status in _PASSTHROUGH_STATUSES:
            return UpstreamStatusError(
                status,
                message,
                type=str(detail.get("type") or "invalid_request_error"),
                param=param_text,
                code=code_text,
            )
        if status == 429:
            return RateLimitError(f"The upstream is rate limiting: {message}", code=code_text)
        if status in (401, 403):
            # The gateway's own provider credentials failed; the client's key is not at
            # fault, and the upstream's message may echo part of the provider key.
            return UpstreamError(
                "The upstream provider rejected the gateway's credentials.",
                code="upstream_auth_error",
            )
        if status == 503:
            return ServiceUnavailableError(f"The upstream is unavailable: {message}")
        if status == 504:
            return UpstreamTimeoutError("The upstream timed out.")
        return UpstreamError(f"The upstream failed (status {status}): {message}")


def health_request(provider: Provider) -> UpstreamRequest:
    """``GET /models`` under the base URL: cheap, authenticated, no tokens spent."""
    assert provider.health is not None
    headers = dict(provider.headers)
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    return UpstreamRequest(
        "GET", join_url(provider.base_url, provider.health.path or "/models"), headers, b""
    )


def _usage(usage: object) -> Usage | None:
    """OpenAI's usage object, as the gateway counts it (None when absent or malformed)."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(cached or 0),
    )


def join_url(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


KIND = ProviderKind("openai", OpenAITranslator, health_request, "openai")
