"""Two replicas sharing Redis: a stop on one reaches the other without a restart, and
feedback given through one replica finds a request served by the other."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.conftest import RedisServer
from tests.emulators.openai_upstream import EmulatorServer
from tests.pipeline_support import FLAG_KEY, PLAIN_KEY, admin, chat, pipeline_config, serving


@pytest.fixture(scope="module")
def replicas(
    emulator: EmulatorServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    redis.Redis(port=redis_server.port).flushdb()
    config = pipeline_config(emulator.base_url, model_dir=None, state_url=redis_server.url)
    with (
        serving(config, tmp_path_factory.mktemp("replica-a")) as a,
        serving(config, tmp_path_factory.mktemp("replica-b")) as b,
    ):
        yield a.url, b.url


def _variant(url: str, user: str) -> str:
    response = chat(
        url, {"model": "chat", "messages": [{"role": "user", "content": "hi"}], "user": user}
    )
    assert response.status_code == 200, response.text
    return response.headers["x-gateway-experiment"].split("variant=")[1]


def test_stop_on_one_replica_reaches_the_other(replicas: tuple[str, str]) -> None:
    a, b = replicas
    user = next(f"u{i}" for i in range(200) if _variant(b, f"u{i}") == "candidate")
    assert _variant(a, user) == "candidate"  # the same bucket on both replicas
    assert admin(a, "POST", "/admin/experiments/chat-ab/stop").status_code == 200
    try:
        deadline = time.monotonic() + 10
        while _variant(b, user) != "control":
            assert time.monotonic() < deadline, "replica b never saw the stop"
            time.sleep(0.2)
    finally:
        admin(a, "POST", "/admin/experiments/chat-ab/start")


def test_feedback_through_either_replica(replicas: tuple[str, str]) -> None:
    a, b = replicas
    response = chat(
        b,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]},
        headers={"x-request-id": "replica-fb-1"},
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 10
    while True:  # replica b writes its ledger batch in the background
        rated = httpx.post(
            a + "/feedback",
            json={"request_id": "replica-fb-1", "rating": "bad", "correction": "Hi!"},
            headers={"authorization": f"Bearer {FLAG_KEY}"},
        )
        if rated.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rated.status_code == 200, rated.text
    foreign = httpx.post(
        b + "/feedback",
        json={"request_id": "replica-fb-1", "rating": "good"},
        headers={"authorization": f"Bearer {PLAIN_KEY}"},
    )
    assert foreign.status_code == 404
    exported = admin(b, "GET", "/admin/feedback/export", params={"team": "one"})
    assert exported.status_code == 200
    assert b'"content":"Hi!"' in exported.content
