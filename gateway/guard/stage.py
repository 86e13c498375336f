"""The guard stage: the team's policy on the way in (``enter``) and out (``leave``).

In: parameter caps, then every input rule over the message texts its roles select.
The first rule that blocks ends the request with 400 ``content_filter`` naming the
rule and the kind of finding, never the matched text, before anything reaches a
provider. Redactions are applied to the forwarded body (placeholders; restorable).
Flags and redactions are reported through ``telemetry.events.guard_action`` (metrics,
span events, access log, ledger via ``telemetry.events.decisions``) and in the
``x-gateway-guard`` response header.

Out: JSON-schema check (with one repair call) for ``response_format: json_schema``,
output rules over each choice's text (block withholds the text from the first match on
and sets ``finish_reason: "content_filter"``), then placeholders restored. Streams get
the same rules incrementally (``stream.StreamGuard``).

Fails closed: a validator that raises fails the request (500), it is not skipped.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec

from gateway.auth.keys import PRINCIPAL
from gateway.auth.per_team import PerTeam
from gateway.config.schema import Team
from gateway.errors import ContentFilterError, UpstreamError
from gateway.guard import schema_check
from gateway.guard.compiled import CompiledPolicy, CompiledRule
from gateway.guard.findings import Finding
from gateway.guard.params import apply_caps
from gateway.guard.redact import Restorer
from gateway.guard.state import GUARD, GuardState
from gateway.guard.stream import CONTENT_FILTER, StreamGuard
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Call, Stage
from gateway.telemetry.events import decisions, guard_action
from gateway.wire.texts import answer_slots, param_name, request_slots
from gateway.wire.types import Endpoint, add_usage

GUARD_HEADER = "x-gateway-guard"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
_KIND_NAMES = {"term": "sensitive term", "injection": "prompt injection"}


class GuardStage(Stage):
    def __init__(self, policies: PerTeam[CompiledPolicy | None], call: Call) -> None:
        """``policies``: principal → its team's policy (None: no guardrails)."""
        self._policies = policies
        self._call = call
        self._memo = _FindingsMemo()

    def policy_for(self, name: str, team: Team | None) -> CompiledPolicy | None:
        """The policy of team ``name`` with settings ``team`` (None: the default)."""
        return self._policies.of(name, team)

    async def enter(self, ctx: RequestContext) -> Reply | None:
        principal = PRINCIPAL.get(ctx)
        policy = self._policies(principal) if principal else None
        if policy is None:
            return None
        state = GUARD.set(ctx, GuardState(policy))
        if policy.params is not None:
            for name in apply_caps(policy.params, ctx.endpoint, ctx.body):
                guard_action(ctx, rule=f"params.{name}", action="clamp", direction="input")
        if policy.input:
            await self._check_input(ctx, state)
        _set_header(ctx)
        return None

    async def _check_input(self, ctx: RequestContext, state: GuardState) -> None:
        slots = request_slots(ctx.endpoint, ctx.body)
        if not slots:
            return
        redactions: dict[int, list[tuple[Finding, str, bool]]] = {}
        for rule in state.policy.input:
            if rule.whole_text and ctx.endpoint is Endpoint.EMBEDDINGS:
                continue
            fired = False
            for index, slot in enumerate(slots):
                if slot.role not in rule.roles:
                    continue
                findings = await _scan(rule, slot.text, self._memo)
                if not findings:
                    continue
                fired = True
                if rule.action == "block":
                    guard_action(ctx, rule=rule.name, action="block", direction="input")
                    _set_header(ctx)
                    raise ContentFilterError(
                        f"The request was blocked by the gateway's guardrail policy: rule "
                        f"'{rule.name}' found {_describe(findings)}.",
                        param=param_name(ctx.endpoint),
                        headers=_blocked_headers(ctx),
                    )
                if rule.action == "redact":
                    kept = redactions.setdefault(index, [])
                    kept.extend((f, rule.kind(f), rule.restore) for f in findings)
            if fired:
                guard_action(ctx, rule=rule.name, action=rule.action, direction="input")
        for index, spans in redactions.items():
            slot = slots[index]
            slot.replace(state.redactor.apply(slot.text, spans))
        if state.redactor.restore:
            state.restorer = Restorer(state.redactor.restore)

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        state = GUARD.get(ctx)
        if state is None:
            return reply
        policy = state.policy
        if isinstance(reply, Completion):
            if policy.json_schema is not None and ctx.endpoint is Endpoint.CHAT:
                reply = await self._check_json(ctx, policy, reply)
            reply = await self._check_answer(ctx, state, reply)
            _set_header(ctx)
            return reply
        chunks = reply.chunks
        if policy.output or state.restorer is not None:
            hold_back = policy.hold_back
            if state.restorer is not None:
                hold_back = max(hold_back, state.restorer.max_span + 1)
            guard = StreamGuard(ctx, policy.output, state.redactor, state.restorer, hold_back)
            chunks = guard.run(chunks)
        if policy.json_schema is not None and ctx.endpoint is Endpoint.CHAT:
            schema = schema_check.requested_schema(ctx.body)
            if schema is not None:
                chunks = _flag_stream_json(ctx, schema, chunks)
        return ChunkStream(chunks)

    async def _check_answer(
        self, ctx: RequestContext, state: GuardState, reply: Completion
    ) -> Completion:
        """The answer with output rules applied and placeholders restored.

        Changes go into a copy: the upstream body may be held by others (the response
        cache stores it keyed by the redacted prompt, so it must keep this request's
        placeholders, never the values restored for this client)."""
        changes: list[tuple[int, str, bool]] = []
        for index, (_, slot) in enumerate(answer_slots(ctx.endpoint, reply.body)):
            text = slot.text
            spans: list[tuple[Finding, str, bool]] = []
            cut: int | None = None
            for rule in state.policy.output:
                findings = await _scan(rule, text, None)  # answers rarely repeat: not kept
                if not findings:
                    continue
                guard_action(ctx, rule=rule.name, action=rule.action, direction="output")
                if rule.action == "block":
                    start = 0 if rule.whole_text else min(f.start for f in findings)
                    cut = start if cut is None else min(cut, start)
                elif rule.action == "redact":
                    spans.extend((f, rule.kind(f), False) for f in findings)
            if cut is not None:
                spans = [s for s in spans if s[0].end <= cut]
                text = text[:cut]
            if spans:
                text = state.redactor.apply(text, spans)
            if state.restorer is not None:
                text = state.restorer.restore(text)
            if text != slot.text or cut is not None:
                changes.append((index, text, cut is not None))
        if not changes and (state.restorer is None or not _has_tool_calls(reply.body)):
            return reply
        body = _copy(reply.body)
        slots = answer_slots(ctx.endpoint, body)
        for index, text, filtered in changes:
            choice, slot = slots[index]
            slot.replace(text)
            if filtered:
                choice["finish_reason"] = CONTENT_FILTER
        if state.restorer is not None:
            _restore_tool_arguments(body, state.restorer)
        return Completion(body)

    async def _check_json(
        self, ctx: RequestContext, policy: CompiledPolicy, reply: Completion
    ) -> Completion:
        schema = schema_check.requested_schema(ctx.body)
        if schema is None:
            return reply
        await schema_check.prepare()
        why, answer = _first_problem(ctx, schema, reply)
        if why is None:
            return reply
        assert policy.json_schema is not None
        action = policy.json_schema.action
        if action == "flag":
            guard_action(ctx, rule="json_schema", action="flag", direction="output")
            return reply
        if action == "repair" and _choice_count(reply) == 1:
            guard_action(ctx, rule="json_schema", action="repair", direction="output")
            repaired = await self._repair(ctx, answer, why)
            why, _ = _first_problem(ctx, schema, repaired)
            if why is None:
                return repaired
        guard_action(ctx, rule="json_schema", action="block", direction="output")
        raise UpstreamError(
            f"The model's answer does not match the requested JSON schema ({why}).",
            code="output_schema_mismatch",
        )

    async def _repair(self, ctx: RequestContext, answer: str | None, why: str) -> Completion:
        """One more upstream call that shows the model its answer and the problem."""
        body, before = ctx.body, ctx.usage
        ctx.body = {**body, "messages": schema_check.repair_messages(body, answer, why)}
        try:
            reply = await self._call(ctx)
        finally:
            ctx.body = body
        ctx.usage = add_usage(before, ctx.usage)
        if not isinstance(reply, Completion):
            raise UpstreamError("The repair call did not return a whole answer.")
        return reply


def _copy(body: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = _decode(_encode(body))
    return copied


def _has_tool_calls(body: dict[str, Any]) -> bool:
    return any(
        isinstance(c, dict)
        and isinstance(c.get("message"), dict)
        and c["message"].get("tool_calls")
        for c in body.get("choices") or ()
    )


def _restore_tool_arguments(body: dict[str, Any], restorer: Restorer) -> None:
    """A tool call the model made with a placeholder gets the real value: the client's
    tool runs on it. Arguments are JSON text, so the value is inserted JSON-escaped."""
    escaped = Restorer({k: json.dumps(v, ensure_ascii=False)[1:-1]
                        for k, v in restorer.values.items()})  # fmt: skip
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                function["arguments"] = escaped.restore(function["arguments"])


class _FindingsMemo:
    """What our own detectors found in texts already scanned, by (detector, text).

    Why: a chat request resends its system prompt and history every turn, so most of
    the texts the input rules scan were scanned before. The default policy's input rules
    over the benchmark's two short messages: 20.5 µs scanning, 5.1 µs from here (min of
    5x1000 on the development machine); longer texts save more (1 KB: ~0.7 ms). Only
    our detectors (pure functions of the text); third-party validators always run. One
    memo per stage, so the detectors it names by ``id`` live as long as it does.
    Bounded by entries and characters held; starts over when full. Findings are frozen
    and handed out as a new list each time.
    """

    MAX_ENTRIES = 8192
    MAX_CHARS = 2_000_000
    MAX_TEXT = 16 * 1024

    def __init__(self) -> None:
        self._found: dict[tuple[int, str], tuple[Finding, ...]] = {}
        self._chars = 0

    def scan(self, rule: CompiledRule, text: str) -> list[Finding]:
        key = (id(rule.detector), text)
        found = self._found.get(key)
        if found is None:
            found = tuple(rule.detector.scan(text))
            if len(text) <= self.MAX_TEXT:
                if len(self._found) >= self.MAX_ENTRIES or self._chars >= self.MAX_CHARS:
                    self._found.clear()
                    self._chars = 0
                self._found[key] = found
                self._chars += len(text)
        return list(found)


async def _scan(rule: CompiledRule, text: str, memo: _FindingsMemo | None) -> list[Finding]:
    if rule.offload:
        return await anyio.to_thread.run_sync(rule.detector.scan, text)
    return memo.scan(rule, text) if memo is not None else rule.detector.scan(text)


def _describe(findings: list[Finding]) -> str:
    kinds = sorted({_KIND_NAMES.get(f.label, f.label) for f in findings})
    return ", ".join(kinds)


def _set_header(ctx: RequestContext) -> None:
    actions = decisions(ctx).guard_actions
    if actions:
        ctx.response_headers[GUARD_HEADER] = ",".join(actions)


def _blocked_headers(ctx: RequestContext) -> dict[str, str]:
    """A 400 ``content_filter`` carries the headers every action promises: the rules that
    acted (``x-gateway-guard``, the blocking one last) and the gateway's own time."""
    return {**ctx.response_headers, "x-gateway-overhead-ms": f"{ctx.overhead_ms():.3f}"}


def _choice_count(reply: Completion) -> int:
    choices = reply.body.get("choices")
    return len(choices) if isinstance(choices, list) else 0


def _first_problem(
    ctx: RequestContext, schema: dict[str, object], reply: Completion
) -> tuple[str | None, str | None]:
    for _, slot in answer_slots(ctx.endpoint, reply.body):
        why = schema_check.problem(schema, slot.text)
        if why is not None:
            return why, slot.text
    return None, None


async def _flag_stream_json(
    ctx: RequestContext, schema: dict[str, object], chunks: AsyncIterator[StreamItem]
) -> AsyncIterator[StreamItem]:
    """A streamed answer is out before it can be checked: a mismatch is only noted."""
    parts: list[str] = []
    async for item in chunks:
        if isinstance(item, dict):
            for choice in item.get("choices") or ():
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    delta = choice.get("delta")
                    if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                        parts.append(delta["content"])
        yield item
    await schema_check.prepare()
    if schema_check.problem(schema, "".join(parts)) is not None:
        guard_action(ctx, rule="json_schema", action="flag", direction="output")
