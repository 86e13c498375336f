"""Budgets under concurrency, on both backends: admission reserves the worst case, so 50
requests fired at once against a budget that admits about 10 never overspend it.

The Redis case splits the burst between two gateway replicas sharing the budget.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.accounting.tokens import count_request_tokens
from gateway.wire.types import Endpoint
from tests.accounting_helpers import (
    CAPPED_KEY,
    PRICE,
    accounting_config,
    admin,
    chat,
    embedded_state,
    start_gateway,
)
from tests.conftest import GatewayProcess, RedisServer, wait_until
from tests.emulators.silent_upstream import SilentServer

PARALLEL = 50
MAX_TOKENS = 20
# Thirty one-token words: the emulator answers "echo: <prompt>" cut to max_tokens words
# and counts prompt words + 3, so the real cost is just under the reserved worst case.
PROMPT = " ".join(["word"] * 30)
BODY = chat(text=PROMPT, max_tokens=MAX_TOKENS)
PER_TOKEN = PRICE / 1e6
WORST = (count_request_tokens(Endpoint.CHAT, BODY, "gpt-4o-mini") + MAX_TOKENS) * PER_TOKEN
REAL = (30 + 3 + MAX_TOKENS) * PER_TOKEN
BUDGET = round(10.5 * WORST, 6)


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["embedded", "redis"])
def replicas(request, emulator, silent, tmp_path_factory) -> Iterator[list[GatewayProcess]]:
    tmp = tmp_path_factory.mktemp(f"budget-{request.param}")
    redis_server = None
    if request.param == "embedded":
        configs = [
            accounting_config(
                emulator.base_url, silent.base_url, state=embedded_state(tmp), budget=BUDGET
            )
        ]
    else:
        (tmp / "redis").mkdir()
        redis_server = RedisServer(tmp / "redis").start()
        state = f'{{url: "{redis_server.url}"}}'
        configs = [
            accounting_config(emulator.base_url, silent.base_url, state=state, budget=BUDGET)
        ] * 2
    gateways = [start_gateway(text, tmp / f"gw{i}") for i, text in enumerate(configs)]
    yield gateways
    for gateway in gateways:
        gateway.stop()
    if redis_server is not None:
        redis_server.stop()


async def _burst(urls: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=PARALLEL)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(
                    urls[i % len(urls)] + "/v1/chat/completions",
                    json=BODY,
                    headers={"authorization": f"Bearer {CAPPED_KEY}"},
                )
                for i in range(PARALLEL)
            )
        )


def test_parallel_requests_never_overspend_the_budget(replicas) -> None:
    assert REAL <= WORST
    responses = asyncio.run(_burst([g.url for g in replicas]))
    admitted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(admitted) + len(refused) == PARALLEL, {r.status_code for r in responses}
    for response in refused:
        error = response.json()["error"]
        assert error["code"] == "insufficient_quota" and error["type"] == "insufficient_quota"
        assert response.headers["x-should-retry"] == "false"
        assert int(response.headers["retry-after"]) > 0
    # Admission needs spent + reserved + worst case <= budget: at least budget/worst fit
    # when all run at once, at most one more than that when they run one by one.
    assert math.floor(BUDGET / WORST) <= len(admitted) <= math.floor((BUDGET - WORST) / REAL) + 1
    charged = sum(float(r.headers["x-gateway-cost-usd"]) for r in admitted)

    def settled() -> dict[str, float] | None:  # the ledger is written just after answers
        with admin(replicas[0]) as client:
            spend: dict[str, float] = client.get("/admin/teams/capped").json()["spend"]
        return spend if spend["held_usd"] == 0 and spend["spent_usd"] > 0 else None

    spend = wait_until(settled)
    assert spend["spent_usd"] == pytest.approx(charged, abs=1e-9)
    assert spend["held_usd"] == 0
    assert spend["spent_usd"] <= BUDGET + WORST
    print(
        f"\nbudget ${BUDGET:.4f}, worst case ${WORST:.4f}, real ${REAL:.4f}: "
        f"{len(admitted)} admitted, ${spend['spent_usd']:.4f} charged"
    )


def _refusals(gateway: GatewayProcess) -> int:
    with admin(gateway) as client:
        report = client.get("/admin/usage", params={"team": "capped", "group_by": "status"})
    return sum(g["requests"] for g in report.json()["groups"] if g["status"] == 429)


def test_over_budget_is_insufficient_quota_for_the_sdk(replicas) -> None:
    with httpx.Client(
        base_url=replicas[-1].url, timeout=20, headers={"authorization": f"Bearer {CAPPED_KEY}"}
    ) as http:
        for _ in range(20):  # spend what the burst left
            if http.post("/v1/chat/completions", json=BODY).status_code == 429:
                break
        else:
            pytest.fail("the budget never ran out")
    before = _refusals(replicas[-1])
    client = openai.OpenAI(base_url=replicas[-1].url + "/v1", api_key=CAPPED_KEY, max_retries=2)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**BODY)
    assert caught.value.code == "insufficient_quota"
    # x-should-retry: false, so the SDK gave up at once instead of retrying twice.
    assert _refusals(replicas[-1]) == before + 1
