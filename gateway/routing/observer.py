"""How the dispatcher reports each upstream attempt (telemetry's client spans and
attempt metrics) without knowing who listens: an observer in a context slot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.pipeline.context import RequestContext, Slot

if TYPE_CHECKING:
    from gateway.errors import GatewayError
    from gateway.pipeline.reply import Reply
    from gateway.routing.models import RouteTarget


class AttemptObserver:
    """Told of each upstream attempt by the dispatcher. The default does nothing; the
    telemetry stage installs its own in ``OBSERVER``."""

    __slots__ = ()

    def started(self, ctx: RequestContext, target: RouteTarget) -> None:
        return None

    def failed(self, ctx: RequestContext, error: GatewayError) -> None:
        return None

    def answered(self, ctx: RequestContext, reply: Reply) -> None:
        """The attempt answered: a whole body, or a stream whose first chunk is in."""
        return None


NO_OBSERVER = AttemptObserver()
OBSERVER: Slot[AttemptObserver] = Slot("observer")


def observer_of(ctx: RequestContext) -> AttemptObserver:
    return OBSERVER.get(ctx) or NO_OBSERVER
