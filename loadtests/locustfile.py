"""Locust users that behave like OpenAI SDK clients of several teams (see traffic.py).

Each user sends what the official Python SDK sends: the same paths, bodies and headers
(``User-Agent: OpenAI/Python``, the ``X-Stainless-*`` set, base64 embeddings by default)
and the same retries (twice on 408/409/429/5xx, waiting ``retry-after-ms`` /
``retry-after`` when the server gives one, with ``x-stainless-retry-count``). It uses
locust's ``FastHttpUser`` rather than the SDK itself so that on a small machine the load
generator costs less CPU than the gateway it measures.

Results are judged, not just counted:

- normal requests must answer 200 (a stream must end with ``data: [DONE]``);
- requests that must be refused must get their exact status and error ``code``;
  a 200 there is a failure ("not refused");
- the rate-limited team's requests may get 200 or 429 ``rate_limit_exceeded``.

Custom metrics: ``TTFT`` rows (request type ``TTFT``) hold the time from sending a
streaming request to its first content token. At the end the run prints the cache
outcomes (``x-gateway-cache``) and the refusals seen per kind.

Run with ``python loadtests/run_locust.py`` (starts the upstream and the gateway), or
against a running gateway: ``locust -f loadtests/locustfile.py --host http://127.0.0.1:8080``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, tag, task
from locust.contrib.fasthttp import ResponseContextManager

sys.path.insert(0, str(Path(__file__).resolve().parent))
from traffic import (
    BAD_KEY,
    BLOCKED_PROMPTS,
    EMBEDDING_MODEL,
    FORBIDDEN_MODEL,
    MODEL,
    QUESTIONS,
    TEAMS,
)

SDK_VERSION = "1.99.0"
MAX_RETRIES = 2  # the SDK's default
RETRYABLE = {408, 409, 429, 500, 502, 503, 504}
WAIT_MAX_S = float(os.environ.get("LOCUST_WAIT_MAX_S", "0.05"))
CHAT = "/v1/chat/completions"
EMBED = "/v1/embeddings"

SDK_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"OpenAI/Python {SDK_VERSION}",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": SDK_VERSION,
    "X-Stainless-OS": platform.system(),
    "X-Stainless-Arch": "x64",
    "X-Stainless-Runtime": "CPython",
    "X-Stainless-Runtime-Version": platform.python_version(),
    "X-Stainless-Async": "false",
    "x-stainless-read-timeout": "600",
}

# Skewed popularity: the first questions are asked far more often (cache hits), and a
# paraphrase is chosen a third of the time (semantic hits).
_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(QUESTIONS))]

cache_outcomes: Counter[str] = Counter()
refusals: Counter[str] = Counter()
# Every HTTP attempt's latency (ms) and outcome, for totals without the TTFT rows.
latencies: list[float] = []
failed: list[int] = [0]


def question() -> str:
    variants = random.choices(QUESTIONS, weights=_WEIGHTS)[0]
    return variants[0] if random.random() < 2 / 3 else random.choice(variants[1:])


def chat_body(content: str, *, stream: bool = False, model: str = MODEL) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are the support assistant of Example Corp."},
            {"role": "user", "content": content},
        ],
        "temperature": 0,
        "max_tokens": 128,
    }
    if stream:
        body["stream"] = True
        if random.random() < 0.5:
            body["stream_options"] = {"include_usage": True}
    return body


def error_code(resp: ResponseContextManager) -> str | None:
    try:
        return str(json.loads(resp.content or b"{}")["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def retry_delay(resp: ResponseContextManager, attempt: int) -> float:
    """The SDK's rule: the server's retry-after(-ms) when at most 60 s, else backoff."""
    headers = resp.headers or {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                delay = float(value) / scale
            except ValueError:
                continue
            if 0 < delay <= 60:
                return delay
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


class SdkUser(FastHttpUser):
    """One SDK client: a team's key, and the SDK's request and retry behaviour."""

    abstract = True
    wait_time = between(0.0, WAIT_MAX_S)
    team = "research"

    def on_start(self) -> None:
        self.key = random.choice(TEAMS[self.team][0])

    def call(
        self,
        path: str,
        body: dict[str, Any],
        name: str,
        *,
        key: str | None = None,
        expect: tuple[int, str | None] = (200, None),
        allow_limit: bool = False,
        stream: bool = False,
    ) -> None:
        """One SDK call: the first attempt and the SDK's retries, each judged."""
        headers = {**SDK_HEADERS, "Authorization": f"Bearer {key or self.key}"}
        for attempt in range(MAX_RETRIES + 1):
            headers["x-stainless-retry-count"] = str(attempt)
            started = time.perf_counter()
            with self.client.post(
                path, json=body, headers=headers, name=name, catch_response=True, stream=stream
            ) as resp:
                status = resp.status_code
                if stream and status == 200:
                    self._read_stream(resp, name, started)
                failed[0] += not self._judge(resp, expect, allow_limit)
                latencies.append(resp.request_meta["response_time"])
            if status not in RETRYABLE or attempt == MAX_RETRIES:
                return
            time.sleep(retry_delay(resp, attempt))

    def _read_stream(self, resp: ResponseContextManager, name: str, started: float) -> None:
        """Read the SSE body; report the time to the first content token as a TTFT row."""
        first_token: float | None = None
        tail = b""
        for chunk in resp.iter_content(chunk_size=4096, decode_content=False):
            if first_token is None and b'"content":"' in chunk.replace(b'"content":""', b""):
                first_token = time.perf_counter()
            tail = (tail + chunk)[-64:]
        resp.request_meta["response_time"] = (time.perf_counter() - started) * 1000
        if b"data: [DONE]" not in tail:
            resp.failure("stream ended without data: [DONE]")
            resp.stream_broken = True
        if first_token is not None:
            events.request.fire(
                request_type="TTFT",
                name=name,
                response_time=(first_token - started) * 1000,
                response_length=0,
                exception=None,
                context={},
            )

    def _judge(
        self, resp: ResponseContextManager, expect: tuple[int, str | None], allow_limit: bool
    ) -> bool:
        """Mark the attempt; True when it met its expectation."""
        status, code = resp.status_code, None
        if status >= 400:
            code = error_code(resp)
        cache = (resp.headers or {}).get("x-gateway-cache")
        if cache and status == 200:
            cache_outcomes[cache.split(";")[0].strip()] += 1
        if getattr(resp, "stream_broken", False):
            return False
        if allow_limit and status == 429 and code == "rate_limit_exceeded":
            refusals["429 rate_limit_exceeded (limited team)"] += 1
            resp.success()
            return True
        if status == expect[0] and (expect[1] is None or code == expect[1]):
            if status != 200:
                refusals[f"{status} {code}"] += 1
            resp.success()
            return True
        if expect[0] != 200 and status == 200:
            resp.failure(f"not refused: expected {expect[0]} {expect[1]}, got 200")
        else:
            resp.failure(f"expected {expect[0]} {expect[1] or ''}, got {status} {code or ''}")
        return False


class ResearchUser(SdkUser):
    """Internal assistant users: chat, streams and embeddings, with any model."""

    weight = 4
    team = "research"

    @tag("chat")
    @task(5)
    def chat(self) -> None:
        self.call(CHAT, chat_body(question()), "chat")

    @tag("stream")
    @task(5)
    def chat_stream(self) -> None:
        self.call(CHAT, chat_body(question(), stream=True), "chat stream", stream=True)

    @tag("embeddings")
    @task(3)
    def embeddings(self) -> None:
        texts = [question() for _ in range(random.randint(1, 4))]
        body = {"model": EMBEDDING_MODEL, "input": texts, "encoding_format": "base64"}
        self.call(EMBED, body, "embeddings")

    @tag("refuse", "guardrail")
    @task(1)
    def blocked_prompt(self) -> None:
        body = chat_body(random.choice(BLOCKED_PROMPTS))
        self.call(CHAT, body, "refuse: guardrail", expect=(400, "content_filter"))

    @tag("refuse")
    @task(1)
    def bad_key(self) -> None:
        self.call(
            CHAT,
            chat_body(question()),
            "refuse: bad key",
            key=BAD_KEY,
            expect=(401, "invalid_api_key"),
        )

    @tag("refuse")
    @task(1)
    def bad_parameter(self) -> None:
        body = {**chat_body(question()), "temperature": 7}
        self.call(CHAT, body, "refuse: bad parameter", expect=(400, "invalid_value"))


class SupportUser(SdkUser):
    """The support desk: the same customer questions again and again, streamed."""

    weight = 3
    team = "support"

    @tag("stream")
    @task(3)
    def chat_stream(self) -> None:
        self.call(CHAT, chat_body(question(), stream=True), "chat stream", stream=True)

    @tag("chat")
    @task(2)
    def chat(self) -> None:
        self.call(CHAT, chat_body(question()), "chat")

    @tag("embeddings")
    @task(1)
    def embeddings(self) -> None:
        body = {"model": EMBEDDING_MODEL, "input": question(), "encoding_format": "base64"}
        self.call(EMBED, body, "embeddings")


class InternUser(SdkUser):
    """May use gpt-4o-mini only, and sometimes asks for gpt-4o anyway."""

    weight = 1
    team = "interns"

    @tag("chat")
    @task(3)
    def chat(self) -> None:
        self.call(CHAT, chat_body(question()), "chat")

    @tag("refuse")
    @task(1)
    def forbidden_model(self) -> None:
        body = chat_body(question(), model=FORBIDDEN_MODEL)
        self.call(CHAT, body, "refuse: model not allowed", expect=(403, "model_not_allowed"))


class MarketingUser(SdkUser):
    """A team over its requests-per-minute limit: 429s, retried as the SDK does."""

    weight = 1
    team = "marketing"

    @tag("limit")
    @task
    def burst(self) -> None:
        self.call(CHAT, chat_body(question()), "limited team chat", allow_limit=True)


def _percentile(ordered: list[float], p: float) -> float:
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


@events.quitting.add_listener
def _summary(environment: Any, **_: Any) -> None:
    ordered = sorted(latencies)
    elapsed = max(time.time() - environment.runner.stats.total.start_time, 1e-9)
    print(
        f"http attempts: {len(ordered)} ({len(ordered) / elapsed:,.1f}/s), failures {failed[0]},"
        f" p50 {_percentile(ordered, 50):,.1f} ms, p99 {_percentile(ordered, 99):,.1f} ms",
        file=sys.stderr,
    )
    if cache_outcomes:
        total = sum(cache_outcomes.values())
        shares = ", ".join(f"{k} {v / total:.0%}" for k, v in cache_outcomes.most_common())
        print(f"x-gateway-cache on 200 answers: {shares} ({total} answers)", file=sys.stderr)
    else:
        print("x-gateway-cache: not sent (cache not configured)", file=sys.stderr)
    for kind, count in refusals.most_common():
        print(f"refused as expected: {kind}: {count}", file=sys.stderr)
