"""The one object every pipeline stage reads and fills in for a single request.

It holds only what every layer understands: the request as parsed and neutral outcomes
(status, error, usage, attempts, timings, headers). A feature's own per-request state
(who the caller is, the chosen route, a reservation, a cache plan, the decisions it
reports) lives in a ``Slot`` the feature declares next to its type, so this module
names no feature and a new stage needs no field here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gateway.wire.types import Endpoint, Usage

if TYPE_CHECKING:
    from gateway.errors import GatewayError

T = TypeVar("T")


class Slot(Generic[T]):
    """A typed place for one feature's per-request state on the context.

    Declared once at import by the feature that owns the state, e.g.
    ``PRINCIPAL: Slot[Principal] = Slot("principal")``; that feature writes it, others
    may read it by importing the slot (an arrow between features, never into the core).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, ctx: RequestContext) -> T | None:
        value: T | None = ctx.slots.get(self)  # typed by the slot; no cast call per read
        return value

    def set(self, ctx: RequestContext, value: T) -> T:
        ctx.slots[self] = value
        return value

    def clear(self, ctx: RequestContext) -> None:
        ctx.slots.pop(self, None)

    def restore(self, ctx: RequestContext, value: T | None) -> None:
        """Put back what ``get`` returned earlier (None: empty)."""
        if value is None:
            ctx.slots.pop(self, None)
        else:
            ctx.slots[self] = value

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


@dataclass(slots=True, eq=False)
class RequestContext:
    endpoint: Endpoint
    request_id: str
    raw_body: bytes = b""
    # Filled by the parse stage: the decoded JSON object (forwarded upstream with its
    # unknown fields) and the parameters the gateway itself acts on.
    body: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    stream: bool = False
    # The client asked for the stream's usage chunk; the gateway asks upstream regardless.
    include_usage: bool = False
    client_headers: Mapping[str, str] = field(default_factory=dict)
    # The client API the request came in on when it is not the endpoint's own
    # (``responses``, ``messages``: both run as chat), for logs and metrics.
    surface: str = ""
    started: float = field(default_factory=time.perf_counter)

    attempts: int = 0
    usage: Usage | None = None
    upstream_seconds: float = 0.0
    first_byte_at: float | None = None
    status: int = 200
    error: GatewayError | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    # The W3C trace headers each upstream attempt carries (traceparent/tracestate).
    trace_headers: dict[str, str] = field(default_factory=dict)
    # Each feature's own state, keyed by the ``Slot`` it declared.
    slots: dict[Slot[Any], Any] = field(default_factory=dict)

    def overhead_ms(self) -> float:
        """Time spent in the gateway itself, up to now, not counting upstream waits."""
        return max(0.0, (time.perf_counter() - self.started - self.upstream_seconds) * 1000)
