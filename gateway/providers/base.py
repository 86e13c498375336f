"""The translator seam: a per-request object that speaks one upstream's wire format.

Translators do no I/O. ``providers.transport`` sends what ``build_request`` returns and
feeds back what came in; every body a translator returns is OpenAI-shaped and valid
against OpenAI's schemas, together with what it learned (the usage the upstream
reported), so nothing travels back through the translator's attributes. One instance
serves one request, so it may keep stream state (tool-call numbering, the message id).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.config.schema import Provider
from gateway.errors import GatewayError
from gateway.wire.sse import Event
from gateway.wire.types import Endpoint, Usage


@dataclass(slots=True, frozen=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes


@dataclass(slots=True)
class Native:
    """A client surface's own body (``surface``: ``responses`` or ``messages``), sent
    as it is to a provider that serves that surface natively, and what came back.

    The pipeline's stages read the chat-shaped view of the same request (the route's
    translation); a native translator sends this body only when it carries exactly the
    text the stages approved (``providers.native``), else it sends the chat view. What
    the upstream answered in its own schema is kept here for the route: ``response``
    (a whole body) or ``events`` (a stream's events, in order, appended as they arrive).
    """

    surface: str
    body: dict[str, Any]
    # Client headers the surface's upstream reads (e.g. ``anthropic-beta``).
    headers: Mapping[str, str] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    events: deque[dict[str, Any]] | None = None


@dataclass(slots=True, frozen=True)
class TranslatorInput:
    """What a translator needs to know about the request it serves."""

    endpoint: Endpoint
    body: dict[str, Any]
    upstream_model: str
    # The model name to report back to the client, and whether the upstream's own name
    # may be kept instead (see wire.normalize).
    reported_model: str
    keep_model: bool
    stream: bool
    include_usage: bool
    request_id: str
    # The client's conversation id (x-session-id), for engines that route on it.
    session_id: str | None = None
    # W3C trace context for the upstream (traceparent/tracestate), set per attempt.
    trace_headers: Mapping[str, str] = field(default_factory=dict)
    # The client surface's own body, for providers that serve that surface natively.
    native: Native | None = None


@dataclass(slots=True)
class Parsed:
    """A whole response: the OpenAI-shaped body and the usage the upstream reported
    (and, from a native translator, the upstream's own body)."""

    body: dict[str, Any]
    usage: Usage | None = None
    native: dict[str, Any] | None = None


# Not frozen: one is made per stream event, and a frozen dataclass costs three times as
# much to build. Read-only by convention (``NOTHING`` is shared).
@dataclass(slots=True)
class StreamStep:
    """One upstream stream event: the OpenAI chunks for the client (often none) and the
    usage it reported, if any (the latest report is the stream's usage)."""

    chunks: list[dict[str, Any]]
    usage: Usage | None = None
    # A native translator's upstream events, as the client surface streams them.
    native: list[dict[str, Any]] | None = None


NOTHING = StreamStep([])


class Translator(Protocol):
    def build_request(self) -> UpstreamRequest: ...

    def parse_response(self, content: bytes) -> Parsed: ...

    def parse_stream_event(self, event: Event) -> StreamStep:
        """What one upstream event says. Raises ``StreamDone`` at the upstream's
        end-of-stream marker."""
        ...

    def parse_error(
        self, status: int, content: bytes, headers: Mapping[str, str]
    ) -> GatewayError: ...


class TranslatorFactory(Protocol):
    def __call__(self, provider: Provider, request: TranslatorInput) -> Translator: ...


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """What a provider module declares about itself: its one row in the registry
    (``providers.registry.PROVIDERS``). Nothing outside ``providers/`` names a kind."""

    name: str  # the config's ``providers.<name>.kind``
    translator: TranslatorFactory
    health_request: Callable[[Provider], UpstreamRequest]
    # gen_ai.provider.name in spans and metrics (OpenTelemetry GenAI conventions).
    telemetry_name: str
    # Serves engine load signals (queue, KV cache) that engine-aware routing weighs,
    # below the server root this maps ``base_url`` to.
    engine_load: bool = False
    engine_root: Callable[[str], str] | None = None
    # The client surfaces (``responses``, ``messages``) this kind serves natively, each
    # with its translator: the surface's body goes upstream as it is (see ``Native``).
    native: Mapping[str, TranslatorFactory] = field(default_factory=dict)


class StreamDone(Exception):
    """The upstream said its stream is complete (e.g. ``data: [DONE]``); ``last`` is
    what the final event itself said, when it said something."""

    def __init__(self, last: StreamStep | None = None) -> None:
        super().__init__()
        self.last = last


def scrub(message: str, api_key: str) -> str:
    """An upstream's error message made fit for a client: the provider key (which some
    upstreams echo) masked, and the length bounded."""
    if api_key and api_key in message:
        message = message.replace(api_key, "***")
    return message[:1000]
