"""The shared cache: two gateway replicas on one real redis-server.

Bodies live in Redis; each replica's vector index follows the shared log, both when it
starts (replay) and while it runs (tail). Purges reach every replica, and Redis going
away turns hits into misses, never into errors.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cache_support import ask, cache_config, chat, unique
from tests.cache_support import minilm_dir as minilm_dir  # fixture
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, RedisServer
from tests.emulators.openai_upstream import EmulatorServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("cache-redis")).start()
    yield server
    server.stop()


def replica(
    emulator: EmulatorServer, minilm_dir: Path, redis: RedisServer, tmp: Path
) -> GatewayProcess:
    process = GatewayProcess(
        cache_config(emulator.base_url, minilm_dir, state_url=redis.url),
        tmp,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    process.wait("/health/ready", timeout=60)
    return process


def eventually(gateway: GatewayProcess, body: dict[str, object], want: str) -> str:
    deadline = time.monotonic() + 8
    while True:
        got = ask(gateway.url, body, headers={"cache-control": "no-store"}).headers[
            "x-gateway-cache"
        ]
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_replicas_share_exact_and_semantic_entries_and_purges(
    emulator: EmulatorServer,
    minilm_dir: Path,
    redis: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import httpx

    first = replica(emulator, minilm_dir, redis, tmp_path_factory.mktemp("a"))
    second: GatewayProcess | None = None
    try:
        early = unique("How do I update my shipping address?")
        ask(first.url, chat(early))
        assert eventually(first, chat(early), "hit") == "hit"
        # A replica that starts later rebuilds its index from the shared log.
        second = replica(emulator, minilm_dir, redis, tmp_path_factory.mktemp("b"))
        assert ask(second.url, chat(early)).headers["x-gateway-cache"] == "hit"
        paraphrase = early.replace("How do I", "How can I")
        assert eventually(second, chat(paraphrase), "semantic") == "semantic"

        # Entries stored while both run reach the other replica through the log tail.
        late = unique("How do I cancel my gym membership?")
        ask(first.url, chat(late))
        assert eventually(second, chat(late.replace("How do I", "How can I")), "semantic") == (
            "semantic"
        )

        purge = httpx.delete(
            second.url + "/admin/cache",
            params={"team": "one"},
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        )
        assert purge.status_code == 200, purge.text
        assert purge.json()["purged"] >= 2
        for gateway in (first, second):
            for text in (early, paraphrase, late):
                assert eventually(gateway, chat(text), "miss") == "miss"

        # Redis going away degrades to misses: answers still come from the upstream.
        ask(first.url, chat(late))
        assert eventually(first, chat(late), "hit") == "hit"
        redis.stop()
        answer = ask(first.url, chat(late))
        assert answer.headers["x-gateway-cache"] == "miss"
        assert late in answer.json()["choices"][0]["message"]["content"]
    finally:
        first.stop()
        if second is not None:
            second.stop()
