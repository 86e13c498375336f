"""The experiment stage: an experiment's model name becomes its user's variant model.

Runs after the intent router (an intent may target an experiment) and before model
access, so access checks, limits, routing and the ledger see the variant's model. The
user is the ``user`` (or ``safety_identifier``) field, else the experiment's
``user_header``; without either the request is assigned at random (and counted so).
A stopped experiment sends everyone to its first variant, the control.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping

from gateway.auth.keys import PRINCIPAL
from gateway.background import cancel_all
from gateway.errors import PermissionDeniedError
from gateway.experiments.assign import Splitter
from gateway.experiments.config import Experiment
from gateway.feedback.store import FeedbackStore
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.state.base import StateError
from gateway.telemetry import events
from gateway.telemetry.events import decision

log = logging.getLogger("gateway.experiments")
EXPERIMENT_HEADER = "x-gateway-experiment"
_REFRESH_S = 2.0


class Switches:
    """Which experiments run: the config's ``active``, overridden by start/stop calls
    (kept in the feedback store; each replica re-reads them every couple of seconds)."""

    def __init__(self, experiments: Mapping[str, Experiment], store: FeedbackStore) -> None:
        self._configured = {name: e.active for name, e in experiments.items()}
        self._active = dict(self._configured)
        self._store = store
        self._task: asyncio.Task[None] | None = None

    def active(self, name: str) -> bool:
        return self._active.get(name, False)

    async def set(self, name: str, active: bool) -> None:
        await self._store.set_switch(name, active)
        self._active[name] = active

    async def start(self) -> None:
        await self._refresh()
        self._task = asyncio.create_task(self._poll(), name="gateway-experiment-switches")

    async def stop(self) -> None:
        await cancel_all(self._task)

    async def _refresh(self) -> None:
        try:
            stored = await self._store.switches()
        except StateError as exc:
            log.warning("cannot read experiment switches (keeping the last ones): %s", exc)
            return
        self._active = {
            name: stored.get(name, configured) for name, configured in self._configured.items()
        }

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(_REFRESH_S)
            await self._refresh()


class AssignVariant(Stage):
    def __init__(self, experiments: Mapping[str, Experiment], switches: Switches) -> None:
        # By the model name clients send.
        self._by_model = {e.model: Splitter(name, e) for name, e in experiments.items()}
        self._switches = switches

    async def enter(self, ctx: RequestContext) -> Reply | None:
        splitter = self._by_model.get(ctx.model)
        if splitter is None:
            return None
        principal = PRINCIPAL.get(ctx)
        if principal is None or not principal.may_use(ctx.model):
            raise PermissionDeniedError(
                f"Your team is not allowed to use the model `{ctx.model}`.", param="model"
            )
        experiment = splitter.experiment
        if not self._switches.active(splitter.name):
            variant, how = splitter.control, "stopped"
        else:
            user, how = _user(ctx, experiment.user_header)
            variant = splitter.assign(user)
        ctx.model = variant.model
        note = events.note(ctx)
        note.experiment, note.variant, note.assignment = splitter.name, variant.name, how
        ctx.response_headers[EXPERIMENT_HEADER] = f"{splitter.name}; variant={variant.name}"
        decision(
            ctx,
            "gateway.experiment",
            {
                "gateway.experiment.name": splitter.name,
                "gateway.experiment.variant": variant.name,
                "gateway.experiment.assignment": how,
            },
        )
        return None


def _user(ctx: RequestContext, header: str) -> tuple[str, str]:
    for field in ("user", "safety_identifier"):
        value = ctx.body.get(field)
        if isinstance(value, str) and value:
            return value, "user"
    value = ctx.client_headers.get(header)
    if value:
        return value, "header"
    return uuid.uuid4().hex, "random"
