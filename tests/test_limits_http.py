"""Rate limits as a client sees them, on the embedded (memory) and the Redis engine:
OpenAI's headers, 429s the OpenAI SDK retries at the right time, concurrency slots freed
when a stream ends or its client leaves, and limits at every level of the config."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from contextlib import ExitStack

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.limits_fleet import WARM_KEY, emulator_process, fleet
from tests.wire import assert_error

CONC = "sk-limits-conc-key-0123456789"
SDK = "sk-limits-sdk-key-0123456789"
RPM2 = "sk-limits-rpm2-key-0123456789"
TINY = "sk-limits-tiny-key-0123456789"
PAIR_A = "sk-limits-pair-a-0123456789"
PAIR_B = "sk-limits-pair-b-0123456789"
OTHER = "sk-limits-other-0123456789"
QUEUED = "sk-limits-queued-0123456789"
HELLO = [{"role": "user", "content": "hello"}]


def config(upstream: str, *, redis_url: str = "", settings: str = "{}") -> str:
    state = f'state: {{url: "{redis_url}"}}' if redis_url else ""
    return f"""
{state}
limits: {settings}
providers:
  emu: {{kind: openai, base_url: "{upstream}", api_key: "{UPSTREAM_KEY}", health: null}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
  capped: {{targets: [{{provider: emu, model: gpt-4o-mini}}], limits: {{rpm: 3}}}}
teams:
  lim: {{models: ["*"]}}
  pair: {{models: ["*"], limits: {{rpm: 4}}, model_limits: {{slow: {{concurrency: 1}}}}}}
  other: {{models: ["*"]}}
keys:
  - {{team: other, key: "{WARM_KEY}"}}
  - {{team: lim, key: "{CONC}", limits: {{concurrency: 5}}}}
  - {{team: lim, key: "{SDK}", limits: {{concurrency: 1}}}}
  - {{team: lim, key: "{RPM2}", limits: {{rpm: 2, tpm: 100000}}}}
  - {{team: lim, key: "{TINY}", limits: {{tpm: 40}}}}
  - {{team: lim, key: "{QUEUED}", limits: {{concurrency: 1}}}}
  - {{team: pair, key: "{PAIR_A}"}}
  - {{team: pair, key: "{PAIR_B}"}}
  - {{team: other, key: "{OTHER}"}}
"""


STREAM_S = 3.0  # the slow stream: 20 chunks, 0.15 s apart


@pytest.fixture(scope="module")
def gateways(redis_server, tmp_path_factory):
    with emulator_process(slow_chunk_delay=STREAM_S / 20) as upstream:
        configs = [
            config(upstream),
            config(upstream, redis_url=redis_server.url),
            config(upstream, settings="{queue_s: 15}"),
        ]
        with fleet(configs, tmp_path_factory.mktemp("limits-http")) as started:
            yield dict(zip(["memory", "redis", "queue"], started))


BACKENDS = ["memory", "redis"]


def post(gateway, key: str, model: str = "gpt-4o-mini", **extra: object) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": model, "messages": HELLO, **extra},
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )


class OpenStream:
    """A streaming request held open (first chunk read), closed on demand."""

    def __init__(self, stack: ExitStack, client: httpx.Client, key: str, model: str = "slow"):
        self.response = stack.enter_context(
            client.stream(
                "POST",
                "/v1/chat/completions",
                json={"model": model, "messages": HELLO, "stream": True},
                headers={"authorization": f"Bearer {key}"},
            )
        )
        assert self.response.status_code == 200, self.response.read()
        self.lines = self.response.iter_lines()
        assert next(line for line in self.lines if line.startswith("data: "))

    def finish(self) -> None:
        assert any(line == "data: [DONE]" for line in self.lines)

    def hang_up(self) -> None:
        self.response.close()


def until_admitted(gateway, key: str, timeout: float = 3.0) -> float:
    """Seconds until a request with ``key`` is admitted again."""
    started = time.monotonic()
    while True:
        response = post(gateway, key)
        if response.status_code == 200:
            return time.monotonic() - started
        assert_error(response, 429, "rate_limit_exceeded")
        assert time.monotonic() - started < timeout, "the slot was never released"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrency_sixth_refused_and_slots_released(gateways, backend) -> None:
    gateway = gateways[backend]
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(base_url=gateway.url, timeout=20))
        streams = [OpenStream(stack, client, CONC) for _ in range(5)]
        sixth = post(gateway, CONC)
        body = assert_error(sixth, 429, "rate_limit_exceeded")
        assert "concurrent" in body["error"]["message"] and "Limit 5" in body["error"]["message"]
        assert sixth.headers["retry-after"] == "1" and sixth.headers["retry-after-ms"] == "1000"

        for stream in streams:  # streams that end free their slots
            stream.finish()
        assert until_admitted(gateway, CONC) < 3

        streams = [OpenStream(stack, client, CONC) for _ in range(5)]
        assert_error(post(gateway, CONC), 429, "rate_limit_exceeded")
        hung_up = time.monotonic()
        streams[0].hang_up()  # so does a client that leaves mid-stream
        until_admitted(gateway, CONC)
        # ...at once, while the other four streams still run for seconds.
        assert time.monotonic() - hung_up < STREAM_S / 2


def test_queued_request_waits_for_a_slot(gateways) -> None:
    gateway = gateways["queue"]
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(base_url=gateway.url, timeout=20))
        holder = OpenStream(stack, client, QUEUED)
        finisher = threading.Thread(target=holder.finish)
        started = time.monotonic()
        finisher.start()
        waited = post(gateway, QUEUED)  # queues (queue_s: 5) instead of a 429
        elapsed = time.monotonic() - started
        finisher.join()
    assert waited.status_code == 200, waited.text
    # The slow stream holds the slot for seconds after its first chunk.
    assert elapsed > STREAM_S / 2, elapsed


def test_sdk_waits_the_advertised_time(gateways) -> None:
    gateway = gateways["memory"]
    attempts: list[float] = []
    with ExitStack() as stack:
        stream_client = stack.enter_context(httpx.Client(base_url=gateway.url, timeout=20))
        holder = OpenStream(stack, stream_client, SDK)
        finisher = threading.Thread(target=holder.finish)
        finisher.start()
        http_client = stack.enter_context(
            httpx.Client(event_hooks={"request": [lambda r: attempts.append(time.monotonic())]})
        )
        sdk = openai.OpenAI(
            base_url=gateway.url + "/v1", api_key=SDK, max_retries=10, http_client=http_client
        )
        answer = sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        finisher.join()
    assert answer.choices[0].message.content
    assert len(attempts) >= 2, "the SDK never saw a 429"
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    # retry-after-ms is 1000; the SDK's own first backoff would be 0.375-0.5 s.
    assert min(gaps) >= 0.95, gaps


@pytest.mark.parametrize("backend", BACKENDS)
def test_headers_on_answers_and_429(gateways, backend) -> None:
    gateway = gateways[backend]
    first = post(gateway, RPM2, max_tokens=10)
    assert first.status_code == 200, first.text
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert re.fullmatch(r"(59(\.\d+)?|60)s", first.headers["x-ratelimit-reset-requests"])
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    reserved = 100000 - int(first.headers["x-ratelimit-remaining-tokens"])
    assert 10 < reserved < 40  # the prompt's few tokens plus max_tokens
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": HELLO, "stream": True, "max_tokens": 10},
        headers={"authorization": f"Bearer {RPM2}"},
        timeout=20,
    ) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["x-ratelimit-remaining-requests"] == "0"
        # The first answer's unused tokens came back when it settled.
        remaining = int(streamed.headers["x-ratelimit-remaining-tokens"])
        assert remaining > 100000 - 2 * reserved
        streamed.read()
    third = post(gateway, RPM2)
    body = assert_error(third, 429, "rate_limit_exceeded")
    assert body["error"]["type"] == "requests"
    assert "Limit 2, Used 2, Requested 1" in body["error"]["message"]
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    wait_ms = int(third.headers["retry-after-ms"])
    assert 55_000 < wait_ms <= 60_000
    assert int(third.headers["retry-after"]) == -(-wait_ms // 1000)


@pytest.mark.parametrize("backend", BACKENDS)
def test_request_larger_than_tpm_is_not_retried(gateways, backend) -> None:
    attempts: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: attempts.append(r.url.path)]}) as h:
        sdk = openai.OpenAI(
            base_url=gateways[backend].url + "/v1", api_key=TINY, max_retries=2, http_client=h
        )
        with pytest.raises(openai.RateLimitError) as caught:
            sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, max_tokens=100)
    assert len(attempts) == 1  # x-should-retry: false
    error = caught.value
    assert error.code == "rate_limit_exceeded" and error.type == "tokens"
    assert "Request too large" in error.message and "Limit 40" in error.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_team_model_and_team_x_model_levels(gateways, backend) -> None:
    gateway = gateways[backend]
    # Model level (capped: 3 rpm over every team), usage not shown to other teams.
    answers = [post(gateway, k, "capped") for k in (OTHER, CONC, OTHER)]
    assert [a.status_code for a in answers] == [200] * 3
    assert "x-ratelimit-remaining-requests" not in answers[0].headers  # shared: private
    refused = assert_error(post(gateway, OTHER, "capped"), 429, "rate_limit_exceeded")
    assert "model capped" in refused["error"]["message"]
    assert "Used" not in refused["error"]["message"]

    # Team x model (pair on slow: 1 at a time) inside the team's own 4 rpm. A refusal
    # counts nowhere: after it, the team still has exactly 3 requests left.
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(base_url=gateway.url, timeout=20))
        holder = OpenStream(stack, client, PAIR_A)  # referenced: collected, it would hang up
        refused = assert_error(post(gateway, PAIR_B, "slow"), 429, "rate_limit_exceeded")
        assert "team pair on model slow" in refused["error"]["message"]
        statuses = [post(gateway, k).status_code for k in (PAIR_B, PAIR_A, PAIR_B, PAIR_A)]
        holder.hang_up()
    assert statuses == [200, 200, 200, 429]
    last = post(gateway, PAIR_B)
    assert "team pair" in json.loads(last.content)["error"]["message"]
