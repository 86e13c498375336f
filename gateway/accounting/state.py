"""What the accounting stages keep for one request between admission and settlement."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.pipeline.context import Slot
from gateway.state.records import Hold


@dataclass(slots=True)
class AccountingState:
    # Unique per request (the client may reuse its x-request-id): the ledger's
    # idempotency key, so a retried write never records a request twice.
    usage_id: str
    hold: Hold | None = None
    # Text the upstream produced so far, per choice, for counting when it reports no usage.
    delivered: list[str] = field(default_factory=list)
    usage_seen: bool = False


ACCOUNTING: Slot[AccountingState] = Slot("accounting")
