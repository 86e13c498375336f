"""The confidence gate: asks for token log-probabilities and acts on unsure answers.

``enter`` (chat requests of teams with a gate policy) sets ``logprobs: true`` for the
upstream; the client sees log-probabilities only if it asked for them itself. ``leave``
judges the first choice (``gate.confidence``) and, below the policy's threshold:

- ``flag``: ``x-gateway-confidence`` says so; the metric and the ledger note record it;
- ``retry``: asks ``retry_model`` once more (through the dispatcher, so its routing,
  retries and fallbacks apply) and answers with that; both calls' tokens are charged;
  if it fails, the first answer stays, flagged ``retry_failed``;
- ``replace``: the answer's text becomes the policy's message.

Streams are judged when the upstream's stream ends; the verdict goes in an SSE comment
(``: x-gateway-confidence {...}``) before ``data: [DONE]``, which SSE parsers (the
OpenAI SDK's included) skip. A stream's text is already with the client by then, so
streams are only ever flagged. Providers that send no log-probabilities get the
verdict ``unknown``, and nothing is done.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.auth.keys import PRINCIPAL
from gateway.confidence.config import NO_GATE, GatePolicy
from gateway.confidence.config import Confidence as ConfidenceConfig
from gateway.confidence.scoring import Confidence, choice_logprobs, judge
from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext, Slot
from gateway.pipeline.reply import ChunkStream, Comment, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.routing.models import ROUTE, TARGET, ModelRoute
from gateway.telemetry import events
from gateway.telemetry.events import decision
from gateway.wire.types import Endpoint, add_usage

CONFIDENCE_HEADER = "x-gateway-confidence"


@dataclass(slots=True)
class GateState:
    policy: GatePolicy
    # The client asked for logprobs itself: pass them through.
    client_asked: bool


GATE: Slot[GateState] = Slot("gate")
# The dispatcher's "go upstream again, on this model" handle (``Dispatcher.on_route``).
Retry = Callable[[RequestContext, ModelRoute], Awaitable[Reply]]


class ConfidenceGate(Stage):
    def __init__(
        self,
        config: ConfidenceConfig,
        retry: Retry,
        resolve: Callable[[str], ModelRoute | None],
    ) -> None:
        self._policies = dict(config.policies)
        self._default = config.default_policy
        self._retry_on = retry
        self._resolve = resolve

    async def enter(self, ctx: RequestContext) -> Reply | None:
        principal = PRINCIPAL.get(ctx)
        if ctx.endpoint is not Endpoint.CHAT or principal is None:
            return None
        # Per team (config or admin API): its own policy name, else the default.
        settings = principal.team_settings
        name = settings.confidence if settings and settings.confidence else self._default
        policy = self._policies.get(name) if name and name != NO_GATE else None
        if policy is None:
            return None
        GATE.set(ctx, GateState(policy, ctx.body.get("logprobs") is True))
        ctx.body["logprobs"] = True
        return None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        state = GATE.get(ctx)
        if state is None:
            return reply
        if isinstance(reply, ChunkStream):
            return ChunkStream(self._watch(ctx, state, reply.chunks))
        verdict = _judge_body(reply.body, state.policy)
        action = ""
        if verdict.verdict == "low":
            action = state.policy.action
            if action == "retry":
                reply, verdict, action = await self._retry(ctx, state, reply, verdict)
            elif action == "replace":
                reply = Completion(_replaced(reply.body, state.policy.message))
        self._report(ctx, verdict, action)
        ctx.response_headers[CONFIDENCE_HEADER] = verdict.header(action)
        if not state.client_asked:
            reply = Completion(_without_logprobs(reply.body))
        return reply

    async def _retry(
        self, ctx: RequestContext, state: GateState, reply: Completion, verdict: Confidence
    ) -> tuple[Completion, Confidence, str]:
        """The stronger model's answer; if it fails, the first answer stays (flagged as
        ``retry_failed``) rather than turning an unsure answer into an error."""
        route = self._resolve(state.policy.retry_model)
        if route is None:
            return reply, verdict, "retry_failed"
        first_target, first_usage = TARGET.get(ctx), ctx.usage
        try:
            retried = await self._retry_on(ctx, route)
        except GatewayError:
            # The attempts named their targets; the answer kept is the first one's.
            TARGET.restore(ctx, first_target)
            ctx.usage = first_usage
            return reply, verdict, "retry_failed"
        # The answer is now the stronger model's: the ledger, metrics and headers say so.
        ctx.model = route.name
        ROUTE.set(ctx, route)
        ctx.usage = add_usage(first_usage, ctx.usage)
        if not isinstance(retried, Completion):  # ctx.stream is False here
            return reply, verdict, "retry_failed"
        return retried, _judge_body(retried.body, state.policy), "retry"

    async def _watch(
        self, ctx: RequestContext, state: GateState, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        seen: list[float] = []
        known = False
        async for item in chunks:
            if isinstance(item, dict):
                for choice in item.get("choices") or ():
                    if isinstance(choice, dict) and choice.get("index", 0) == 0:
                        values = choice_logprobs(choice)
                        if values is not None:
                            known = True
                            seen.extend(values)
                if not state.client_asked:
                    item = _without_logprobs(item)
            yield item
        verdict = judge(seen, state.policy) if known else Confidence("unknown")
        action = "flag" if verdict.verdict == "low" else ""
        self._report(ctx, verdict, action)
        yield Comment(f"{CONFIDENCE_HEADER} {json.dumps(verdict.describe(action))}")

    def _report(self, ctx: RequestContext, verdict: Confidence, action: str) -> None:
        note = events.note(ctx)
        note.gate, note.gate_action = verdict.verdict, action
        note.confidence, note.confidence_min = verdict.mean, verdict.min
        attributes: dict[str, Any] = {"gateway.confidence.verdict": verdict.verdict}
        if verdict.mean is not None:
            attributes["gateway.confidence.mean"] = verdict.mean
            attributes["gateway.confidence.min"] = verdict.min
        if action:
            attributes["gateway.confidence.action"] = action
        decision(ctx, "gateway.confidence", attributes)


def _judge_body(body: dict[str, Any], policy: GatePolicy) -> Confidence:
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    values = choice_logprobs(first)
    return judge(values, policy) if values is not None else Confidence("unknown")


# The body may be held elsewhere (the response cache stores the upstream's): changes go
# into copies of the body and its choices.


def _without_logprobs(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list):
        return body
    copied = [dict(c) if isinstance(c, dict) else c for c in choices]
    for choice in copied:
        if isinstance(choice, dict) and "logprobs" in choice:
            choice["logprobs"] = None
    return {**body, "choices": copied}


def _replaced(body: dict[str, Any], message: str) -> dict[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list):
        return body
    copied: list[Any] = []
    for choice in choices:
        if isinstance(choice, dict):
            choice = {
                **choice,
                "message": {"role": "assistant", "content": message, "refusal": None},
                "finish_reason": "stop",
            }
        copied.append(choice)
    return {**body, "choices": copied}
