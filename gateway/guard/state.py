"""The guard's per-request state, kept in the ``GUARD`` slot: which policy
applies, the placeholders handed out on the way in, and how to restore them."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.guard.compiled import CompiledPolicy
from gateway.guard.redact import Redactor, Restorer
from gateway.pipeline.context import Slot


@dataclass(slots=True)
class GuardState:
    policy: CompiledPolicy
    redactor: Redactor = field(default_factory=Redactor)
    restorer: Restorer | None = None


GUARD: Slot[GuardState] = Slot("guard")
