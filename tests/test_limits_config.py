"""The rate-limit config and what it turns into: errors that name the field, the rules
each level adds, OpenAI's header formats, the token reservation, and the routing hook
for per-target provider quotas."""

from __future__ import annotations

import asyncio

import pytest

from gateway.auth.keys import PRINCIPAL, principal_for_team
from gateway.config import ConfigError, parse_config
from gateway.errors import RateLimitError
from gateway.limits.config import Limits
from gateway.limits.headers import go_duration
from gateway.limits.limiter import ADMISSION, RateLimiter
from gateway.limits.rules import EMPTY, PlanBook
from gateway.pipeline.context import RequestContext
from gateway.routing.models import TARGET, ModelTable
from gateway.wire.types import Endpoint, Usage

BASE = """
providers:
  a: {kind: openai, base_url: "http://127.0.0.1:1/v1", health: null}
  b: {kind: openai, base_url: "http://127.0.0.1:2/v1", health: null}
"""


@pytest.mark.parametrize(
    ("yaml", "path"),
    [
        (
            "models: {m: {targets: [{provider: a, model: x, limits: {rpm: 0}}]}}",
            "models.m.targets[0].limits.rpm",
        ),
        ("limits: {on_store_error: maybe}", "limits.on_store_error"),
        ("limits: {store: {timeout_s: 0}}", "limits.store.timeout_s"),
        ("teams: {t: {model_limits: {m: {rpn: 3}}}}", "teams.t.model_limits[...].rpn"),
        ("teams: {t: {limits: {concurrency: -1}}}", "teams.t.limits.concurrency"),
        (
            "models: {m: {targets: [{provider: a, model: x}], limits: {tpm: 1.5}}}",
            "models.m.limits.tpm",
        ),
    ],
    ids=["target-rpm", "mode", "store-timeout", "team-model-typo", "team-concurrency", "model-tpm"],
)
def test_bad_limits_name_the_field(yaml: str, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + yaml)
    assert caught.value.path == path


MODELS = (
    BASE
    + """
models:
  exact: {targets: [{provider: a, model: x, limits: {rpm: 7}}], limits: {rpm: 5}}
  plain: {targets: [{provider: a, model: x}, {provider: b, model: y}]}
  "vendor/*": {targets: [{provider: b, model: "*", limits: {tpm: 900}}], limits: {rpm: 9}}
  "vendor/special": {targets: [{provider: b, model: special}]}
  free: {targets: [{provider: a, model: free}]}
"""
)


@pytest.mark.parametrize(
    ("model", "key", "team", "team_model", "expected"),
    [
        ("plain", None, None, None, []),
        (
            "plain",
            Limits(rpm=1, concurrency=2),
            None,
            None,
            [("key k1", "r", 1), ("key k1", "c", 2)],
        ),
        (
            "plain",
            None,
            Limits(tpm=50),
            Limits(rpm=3),
            [("team t", "t", 50), ("team t on model plain", "r", 3)],
        ),
        ("exact", None, None, None, [("model exact", "r", 5)]),
        # A prefix route's limits are its entry's, shared by every name under it...
        ("vendor/abc", None, None, None, [("model vendor/abc", "r", 9)]),
        # ...but an exact entry wins over the prefix, as in the model table.
        ("vendor/special", None, None, None, []),
    ],
    ids=["none", "key", "team-and-team-x-model", "model", "prefix", "exact-over-prefix"],
)
def test_rules_per_level(model, key, team, team_model, expected) -> None:
    book = PlanBook(parse_config(MODELS))
    plan = book.for_request("k1", "t", model, key, team, team_model)
    kinds = {0: "r", 1: "t", 2: "c"}
    assert [(r.scope, kinds[int(r.kind)], r.limit) for r in plan.rules] == expected
    assert plan is book.for_request("k1", "t", model, key, team, team_model)  # cached


def test_prefix_route_models_share_one_counter() -> None:
    book = PlanBook(parse_config(MODELS))
    one = book.for_request("k", "t", "vendor/one").rules[0]
    two = book.for_request("k", "t", "vendor/two").rules[0]
    assert one.key == two.key
    # Names are quoted into keys: no team/model pair can forge another's key.
    forged = book.for_request("k", "a:b", "c", None, None, Limits(rpm=1)).rules[0]
    honest = book.for_request("k", "a", "b:c", None, None, Limits(rpm=1)).rules[0]
    assert forged.key != honest.key


@pytest.mark.parametrize(
    ("label", "limit"),
    # b/y is also vendor/y: a quota belongs to the provider's deployment, however reached.
    [("a/x", 7), ("a/y", None), ("b/y", 900), ("b/anything", 900), ("b/special", 900)],
)
def test_target_limits(label: str, limit: int | None) -> None:
    plan = PlanBook(parse_config(MODELS)).for_target(label)
    assert [r.limit for r in plan.rules] == ([limit] if limit else [])
    assert (plan is EMPTY) == (limit is None)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0ms"),
        (20, "20ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (59_022, "59.022s"),
        (60_000, "1m0s"),
        (360_000, "6m0s"),
        (3_723_000, "1h2m3s"),
    ],
)
def test_reset_durations_in_openai_format(ms: int, text: str) -> None:
    assert go_duration(ms) == text


def context(model: str, body: dict, endpoint: Endpoint = Endpoint.CHAT) -> RequestContext:
    ctx = RequestContext(endpoint, "req_test")
    ctx.model = model
    ctx.body = {"model": model, **body}
    PRINCIPAL.set(ctx, principal_for_team("key_1", "t", "sk-…", None))
    return ctx


def limiter(extra: str = "") -> RateLimiter:
    return RateLimiter(parse_config(MODELS + extra))


@pytest.mark.parametrize(
    ("endpoint", "body", "output"),
    [
        (Endpoint.CHAT, {"max_tokens": 30}, 30),
        (Endpoint.CHAT, {"max_completion_tokens": 40, "max_tokens": 30}, 40),
        (Endpoint.CHAT, {"max_tokens": 30, "n": 3}, 90),
        (Endpoint.CHAT, {}, 1024),  # limits.default_max_tokens
        (Endpoint.COMPLETIONS, {}, 16),  # OpenAI's default for legacy completions
        (Endpoint.COMPLETIONS, {"max_tokens": 10, "best_of": 4, "n": 2}, 40),
        (Endpoint.EMBEDDINGS, {}, 0),
    ],
    ids=["max_tokens", "max_completion_tokens", "n", "default", "legacy", "best_of", "embed"],
)
def test_reservation_is_prompt_plus_most_output(endpoint, body, output) -> None:
    from gateway.accounting.tokens import count_request_tokens
    from gateway.limits.reservation import reserved_tokens

    text = {"messages": [{"role": "user", "content": "one two three"}]}
    if endpoint is not Endpoint.CHAT:
        text = (
            {"prompt": "one two three"}
            if endpoint is Endpoint.COMPLETIONS
            else {"input": "one two three"}
        )
    ctx = context("plain", {**text, **body}, endpoint)
    prompt = count_request_tokens(endpoint, ctx.body, "plain")
    assert asyncio.run(reserved_tokens(ctx, 1024)) == prompt + output


def test_target_hook_skips_a_target_over_its_quota() -> None:
    """What routing calls before trying a target: a quota of 7 rpm on a/x admits 7,
    then raises the 429 routing moves on from; other targets are untouched."""
    gate = limiter()
    table = ModelTable(parse_config(MODELS))
    first, other = table.resolve("exact").targets[0], table.resolve("free").targets[0]

    async def scenario() -> list[object]:
        outcomes: list[object] = []
        for _ in range(8):
            ctx = context("exact", {"max_tokens": 5})
            try:
                await gate.acquire_target(ctx, first.label)
                outcomes.append("ok")
            except RateLimitError as exc:
                outcomes.append(exc.status_code)
            TARGET.set(ctx, first)
            ctx.usage = Usage(prompt_tokens=3, completion_tokens=5)
            await gate.settle(ctx)
        ctx = context("free", {})
        await gate.acquire_target(ctx, other.label)  # no quota: nothing counted
        admission = ADMISSION.get(ctx)
        outcomes.append(admission is None or admission.tickets == [])
        return outcomes

    assert asyncio.run(scenario()) == ["ok"] * 7 + [429, True]


def test_target_tokens_settled_only_for_the_answering_target() -> None:
    """Failing over from b/abc to b/other: b/other is charged the real 20 tokens, and
    b/abc nothing (its reservation is returned). Measured by what still fits in each
    target's 900-token window."""
    from gateway.accounting.tokens import count_request_tokens

    gate = limiter()
    empty = count_request_tokens(Endpoint.CHAT, {"messages": []}, "vendor/x")

    async def fits(label: str, tokens: int) -> bool:
        probe = context("vendor/x", {"messages": [], "max_tokens": tokens - empty})
        try:
            await gate.acquire_target(probe, label)
        except RateLimitError:
            return False
        return True

    async def scenario() -> list[bool]:
        ctx = context(
            "vendor/abc", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
        )
        await gate.acquire_target(ctx, "b/abc")  # tried first, failed over
        await gate.acquire_target(ctx, "b/other")  # answered
        TARGET.set(ctx, ModelTable(parse_config(MODELS)).resolve("vendor/other").targets[0])
        ctx.usage = Usage(prompt_tokens=8, completion_tokens=12)
        await gate.settle(ctx)
        return [
            await fits("b/abc", 901),
            await fits("b/abc", 900),
            await fits("b/other", 881),
            await fits("b/other", 880),
        ]

    assert asyncio.run(scenario()) == [False, True, False, True]
