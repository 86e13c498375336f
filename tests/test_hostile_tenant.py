"""A hostile tenant against two replicas on one Redis: its own request fields never buy
it more than its budget, and a model is charged at its own price.

- Shrink: ``max_completion_tokens: 1`` beside ``max_tokens: 150`` to an OpenAI-compatible
  target (which reads ``max_tokens``): admission reserves the larger cap, so a burst
  never spends more than the budget.
- Prices follow the model the client asked for: two model names over one deployment
  keep their own prices.
- A model without a price cannot be charged to a budget: 403 ``model_not_priced``,
  unless the config says what unpriced models cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.accounting_helpers import admin, start_gateway
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, RedisServer, wait_until
from tests.emulators.openai_upstream import EmulatorServer

TEAM_KEY = "sk-hostile-team-key-0123456789"
FREE_KEY = "sk-hostile-free-key-0123456789"
HIDDEN_KEY = "sk-hostile-hidden-key-0123456789"
TPM_KEY = "sk-hostile-tpm-key-0123456789"
TPM = 2000
PRICE = 1000.0  # USD per million tokens: $0.001 a token
BURST = 40
LONG_PROMPT = " ".join(f"w{i}" for i in range(150))  # the echo runs to 150 words


def config(upstream: str, state: str, *, budget: float, extra: str = "") -> str:
    return f"""
admin: {{master_key: "{MASTER_KEY}"}}
state: {state}
cache: {{enabled: true}}
accounting:
  flush_interval_s: 0.02
{extra}
providers:
  compat: {{kind: openai-compatible, base_url: "{upstream}", api_key: "{UPSTREAM_KEY}"}}
  emu: {{kind: openai, base_url: "{upstream}", api_key: "{UPSTREAM_KEY}"}}
models:
  compat: {{targets: [{{provider: compat, model: echo}}], price: {{input: {PRICE}, output: {PRICE}}}}}
  cheap: {{targets: [{{provider: emu, model: echo}}], price: {{input: 1, output: 2}}}}
  premium: {{targets: [{{provider: emu, model: echo}}], price: {{input: 10, output: 20}}}}
  "emu/*": {{targets: [{{provider: emu, model: "*"}}]}}
teams:
  hostile: {{models: ["*"], budget_usd: {budget}}}
  free: {{models: ["*"]}}
  hidden: {{models: ["*"], budget_usd: 2.5}}
keys:
  - {{team: hostile, key: "{TEAM_KEY}"}}
  - {{team: free, key: "{FREE_KEY}"}}
  - {{team: hidden, key: "{HIDDEN_KEY}"}}
  - {{team: free, key: "{TPM_KEY}", limits: {{tpm: {TPM}}}}}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=UPSTREAM_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def replicas(upstream: EmulatorServer, tmp_path_factory) -> Iterator[list[GatewayProcess]]:
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "redis").mkdir()
    redis = RedisServer(tmp / "redis").start()
    text = config(upstream.base_url, f'{{url: "{redis.url}"}}', budget=BUDGET)
    gateways = [start_gateway(text, tmp / f"gw{i}") for i in range(2)]
    yield gateways
    for gateway in gateways:
        gateway.stop()
    redis.stop()


# One request at the larger cap costs (150 + 3) prompt + 4 x 150 output tokens: $0.75.
# The budget fits two; reserving the shrunk cap (1 token a choice, $0.16) admitted seven
# at once, and spent over four times the budget.
BUDGET = 2.0


def _spend(gateway: GatewayProcess, team: str) -> dict[str, float] | None:
    with admin(gateway) as client:
        spend: dict[str, float] = client.get(f"/admin/teams/{team}").json()["spend"]
    return spend if spend["held_usd"] == 0 else None


async def _burst(urls: list[str], body: dict[str, object], key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=BURST)) as http:
        return await asyncio.gather(
            *(
                http.post(
                    urls[i % len(urls)] + "/v1/chat/completions",
                    json=body,
                    headers={"authorization": f"Bearer {key}"},
                )
                for i in range(BURST)
            )
        )


def test_shrunk_output_cap_never_overspends(replicas: list[GatewayProcess]) -> None:
    body = {
        "model": "compat",
        "messages": [{"role": "user", "content": LONG_PROMPT}],
        "max_completion_tokens": 1,
        "max_tokens": 150,
        "n": 4,
    }
    responses = asyncio.run(_burst([g.url for g in replicas], body, TEAM_KEY))
    ok = [r for r in responses if r.status_code == 200]
    assert ok and all(r.status_code in (200, 429) for r in responses), responses[0].text
    # The upstream really generated up to 150 tokens: the large cap is what it read.
    assert max(r.json()["usage"]["completion_tokens"] for r in ok) > 100
    spend = wait_until(lambda: _spend(replicas[0], "hostile"))
    assert 0 < spend["spent_usd"] <= BUDGET, (spend, len(ok))


def test_each_model_is_charged_its_own_price(replicas: list[GatewayProcess]) -> None:
    costs = {}
    for model in ("cheap", "premium"):
        reply = httpx.post(
            replicas[0].url + "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "a b c"}]},
            headers={"authorization": f"Bearer {FREE_KEY}"},
            timeout=20,
        )
        assert reply.status_code == 200, reply.text
        usage = reply.json()["usage"]
        costs[model] = (float(reply.headers["x-gateway-cost-usd"]), usage)
    for model, (input_price, output_price) in {"cheap": (1, 2), "premium": (10, 20)}.items():
        cost, usage = costs[model]
        expected = usage["prompt_tokens"] * input_price + usage["completion_tokens"] * output_price
        assert cost == pytest.approx(expected / 1e6, rel=1e-6), (model, cost, usage)


def test_unpriced_model_is_refused_to_a_budget(replicas: list[GatewayProcess]) -> None:
    body = {"model": "emu/o1-pro", "messages": [{"role": "user", "content": "hi"}]}
    refused = httpx.post(
        replicas[1].url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {TEAM_KEY}"},
        timeout=20,
    )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "model_not_priced" and error["param"] == "model"
    assert "o1-pro" in error["message"]
    # A team without a budget may use it (recorded at cost 0, and logged).
    free = httpx.post(
        replicas[1].url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {FREE_KEY}"},
        timeout=20,
    )
    assert free.status_code == 200, free.text


def test_configured_unpriced_rate_is_charged(upstream: EmulatorServer, tmp_path: Path) -> None:
    text = config(
        upstream.base_url,
        f'{{path: "{tmp_path / "state.db"}"}}',
        budget=5,
        extra=f"  unpriced: {{input: {PRICE}, output: {PRICE}}}",
    )
    gateway = start_gateway(text, tmp_path / "gw")
    try:
        reply = httpx.post(
            gateway.url + "/v1/chat/completions",
            json={"model": "emu/o1-pro", "messages": [{"role": "user", "content": "a b c"}]},
            headers={"authorization": f"Bearer {TEAM_KEY}"},
            timeout=20,
        )
        assert reply.status_code == 200, reply.text
        usage = reply.json()["usage"]
        expected = usage["total_tokens"] * PRICE / 1e6
        assert float(reply.headers["x-gateway-cost-usd"]) == pytest.approx(expected)
    finally:
        gateway.stop()


def test_a_reused_team_name_starts_empty(replicas: list[GatewayProcess]) -> None:
    """Delete a team, create another with its name: none of the old team's ledger,
    spend, cached answers or feedback are the new team's (stored data is keyed by an
    immutable team id, not by the name)."""
    one, two = replicas
    body = {"model": "cheap", "messages": [{"role": "user", "content": "reuse me"}]}

    def new_team() -> str:
        with admin(one) as master:
            made = master.post("/admin/teams", json={"name": "reused", "budget_usd": 5})
            assert made.status_code == 201, made.text
            key = master.post("/admin/keys", json={"team": "reused"})
            assert key.status_code == 201, key.text
            return str(key.json()["key"])

    def ask(gateway: GatewayProcess, key: str) -> httpx.Response:
        def answered() -> httpx.Response | None:  # the other replica learns keys in ~1 s
            reply = httpx.post(
                gateway.url + "/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {key}", "x-request-id": "req-reused-1"},
                timeout=20,
            )
            return reply if reply.status_code != 401 else None

        reply = wait_until(answered, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply

    old_key = new_team()
    first = ask(one, old_key)
    assert first.headers["x-gateway-cache"] == "miss"
    assert ask(two, old_key).headers["x-gateway-cache"] == "hit"  # the old team's cache works
    feedback = httpx.post(
        one.url + "/v1/feedback",
        json={"request_id": "req-reused-1", "rating": "good"},
        headers={"authorization": f"Bearer {old_key}"},
        timeout=20,
    )
    assert feedback.status_code == 200, feedback.text
    old_spend = wait_until(lambda: _spend(one, "reused"))
    assert old_spend["spent_usd"] > 0

    with admin(one) as master:
        assert master.delete("/admin/teams/reused").status_code == 200
    new_key = new_team()
    with admin(two) as master:
        spend = master.get("/admin/teams/reused").json()["spend"]
        usage = master.get("/admin/usage", params={"team": "reused"}).json()
    assert spend["spent_usd"] == 0 and spend["held_usd"] == 0, spend
    assert usage["totals"]["requests"] == 0, usage
    # The old team's request is not the new team's to rate.
    stolen = httpx.post(
        two.url + "/v1/feedback",
        json={"request_id": "req-reused-1", "rating": "bad"},
        headers={"authorization": f"Bearer {new_key}"},
        timeout=20,
    )
    assert stolen.status_code == 404, stolen.text
    again = ask(two, new_key)
    assert again.headers["x-gateway-cache"] == "miss"  # not the old team's stored answer
    with admin(one) as master:
        usage = master.get("/admin/usage", params={"team": "reused"}).json()
    assert usage["totals"]["requests"] == 1, usage  # only the new team's own request


@pytest.mark.parametrize(
    "where",
    ["top-level", "nested-properties", "array-items", "defs", "file-part", "audio-part"],
)
def test_hidden_prompt_text_is_reserved(replicas: list[GatewayProcess], where: str) -> None:
    """3,000 words cost more than the whole budget ($2.50 is 2,500 tokens here) wherever
    the client hides them: refused at admission on either replica, never admitted and
    charged later; a small request of the same team still fits."""
    words = " ".join(f"w{i}" for i in range(3000))
    leaf = {"type": "string", "description": words}
    schemas = {
        "top-level": {"type": "object", "properties": {"a": leaf}},
        "nested-properties": {
            "type": "object",
            "properties": {"a": {"type": "object", "properties": {"b": leaf}}},
        },
        "array-items": {"type": "object", "properties": {"a": {"type": "array", "items": leaf}}},
        "defs": {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/b"}},
            "$defs": {"b": leaf},
        },
    }
    content: object = "hi"
    tools = []
    if where in schemas:
        tools = [{"type": "function", "function": {"name": "f", "parameters": schemas[where]}}]
    elif where == "file-part":
        content = [{"type": "file", "file": {"filename": "a.txt", "file_data": words}}]
    else:
        content = [{"type": "input_audio", "input_audio": {"data": words, "format": "wav"}}]
    body = {
        "model": "compat",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 1,
        **({"tools": tools} if tools else {}),
    }
    headers = {"authorization": f"Bearer {HIDDEN_KEY}"}
    small = {"model": "compat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    for gateway in replicas:
        reply = httpx.post(
            gateway.url + "/v1/chat/completions", json=body, headers=headers, timeout=20
        )
        assert reply.status_code == 429, reply.text
        assert reply.json()["error"]["code"] == "insufficient_quota"
        fits = httpx.post(
            gateway.url + "/v1/chat/completions", json=small, headers=headers, timeout=20
        )
        assert fits.status_code == 200, fits.text


def test_shrunk_cap_stays_within_one_reservation_of_tpm(replicas: list[GatewayProcess]) -> None:
    """The issue's TPM case: 2,000 tokens a minute let 6,360 through when the reservation
    read the small cap. Now what the burst used stays within one reservation of it."""
    body = {
        "model": "compat",
        "messages": [{"role": "user", "content": LONG_PROMPT}],
        "max_completion_tokens": 1,
        "max_tokens": 150,
        "n": 4,
    }
    responses = asyncio.run(_burst([g.url for g in replicas], body, TPM_KEY))
    ok = [r for r in responses if r.status_code == 200]
    assert ok and all(r.status_code in (200, 429) for r in responses)
    used = sum(r.json()["usage"]["total_tokens"] for r in ok)
    largest = max(r.json()["usage"]["total_tokens"] for r in ok)  # 153 + 4 x 150
    assert used <= TPM + largest, (used, len(ok))
