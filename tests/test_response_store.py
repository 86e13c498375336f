"""The stored-responses backends (gateway.conversations.store): embedded SQLite and
Redis pass the same tests: team isolation, expiry, delete, survival across reopen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import openai
import pytest
import redis

from gateway.conversations.store import (
    EmbeddedResponseStore,
    RedisResponseStore,
    ResponseStore,
)
from tests.conftest import (
    RESTRICTED_KEY,
    TEAM_KEY,
    UPSTREAM_KEY,
    GatewayProcess,
    RedisServer,
)
from tests.emulators.openai_upstream import EmulatorServer

Scenario = Callable[[ResponseStore], Awaitable[None]]
RECORD = {"response": {"id": "resp_1", "output": []}, "input_items": [], "context": []}


@pytest.fixture(params=["embedded", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], ResponseStore]:
    if request.param == "embedded":
        return lambda: EmbeddedResponseStore(tmp_path / "responses.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    redis.Redis(port=server.port).flushdb()
    return lambda: RedisResponseStore(server.url)


def run(factory: Callable[[], ResponseStore], scenario: Scenario) -> None:
    async def main() -> None:
        store = factory()
        await store.start()
        try:
            await scenario(store)
        finally:
            await store.aclose()

    asyncio.run(main())


def test_kept_per_team(store: Callable[[], ResponseStore]) -> None:
    async def scenario(s: ResponseStore) -> None:
        await s.put("one", "resp_1", RECORD, 60)
        assert await s.get("one", "resp_1") == RECORD
        assert await s.get("two", "resp_1") is None
        assert await s.get("one", "resp_2") is None
        assert not await s.delete("two", "resp_1")
        assert await s.get("one", "resp_1") == RECORD
        assert await s.delete("one", "resp_1")
        assert await s.get("one", "resp_1") is None
        assert not await s.delete("one", "resp_1")

    run(store, scenario)


def test_expires(store: Callable[[], ResponseStore]) -> None:
    async def scenario(s: ResponseStore) -> None:
        await s.put("one", "resp_short", RECORD, 0.05)
        await asyncio.sleep(0.2)
        assert await s.get("one", "resp_short") is None
        assert not await s.delete("one", "resp_short")

    run(store, scenario)


def test_survives_a_restart(store: Callable[[], ResponseStore]) -> None:
    run(store, lambda s: s.put("one", "resp_kept", RECORD, 60))

    async def scenario(s: ResponseStore) -> None:
        assert await s.get("one", "resp_kept") == RECORD

    run(store, scenario)


def test_two_replicas_share_stored_responses(
    redis_server: RedisServer,
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Redis state: a response created on one replica is retrieved and chained on the
    other; another team still gets a 404."""
    text = f"""
state: {{url: "{redis_server.url}"}}
providers:
  emu: {{kind: openai, base_url: "{emulator.base_url}", api_key: "{UPSTREAM_KEY}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
teams: {{one: {{}}, two: {{}}}}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
  - {{team: two, key: "{RESTRICTED_KEY}"}}
"""
    replicas = [GatewayProcess(text, tmp_path_factory.mktemp(f"replica{i}")) for i in (1, 2)]
    try:
        for replica in replicas:
            replica.wait("/health/ready")
        a, b = (
            openai.OpenAI(base_url=r.url + "/v1", api_key=TEAM_KEY, max_retries=0) for r in replicas
        )
        first = a.responses.create(model="gpt-4o-mini", input="on replica one")
        assert b.responses.retrieve(first.id).output_text == "echo: on replica one"
        chained = b.responses.create(
            model="gpt-4o-mini", input="next", previous_response_id=first.id
        )
        assert a.responses.retrieve(chained.id).previous_response_id == first.id
        other = openai.OpenAI(
            base_url=replicas[1].url + "/v1", api_key=RESTRICTED_KEY, max_retries=0
        )
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(first.id)
    finally:
        for replica in replicas:
            replica.stop()
