"""Shared by the fault suites (``test_faults_*.py``): a gateway config whose team has a
budget, a token limit and a concurrency limit, and the ledger invariants every scenario
ends with.

The invariants, read from outside the process like an operator would:

- every admitted request has exactly one usage record (``/admin/usage/records``);
- the team's budget holds nothing (``held_usd`` back to 0);
- no token reservation is left in the TPM window (a probe's
  ``x-ratelimit-remaining-tokens`` is back where it was, give or take real usage): fault
  requests ask for ``max_tokens=FAULT_MAX_TOKENS``, so one leaked reservation shows;
- nothing is in flight (``gateway_requests_in_flight`` is 0) and every concurrency slot
  is free (``CONCURRENCY`` requests at once are all admitted).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, scrape

FAULT_KEY = "sk-fault-team-key-0123456789"
TEAM = "faults"
CONCURRENCY = 60
TPM = 100_000_000
# A leaked reservation of this size cannot hide in the noise of real usage.
FAULT_MAX_TOKENS = 1_000_000
# USD per million tokens; with FAULT_MAX_TOKENS a request holds $1 of the budget.
PRICE = 1.0
BUDGET = 10_000.0


def fault_config(
    upstream: str,
    *,
    state: str,
    timeouts: str = "{connect: 1, first_byte: 1, total: 3}",
    server: str = "shutdown_grace_s: 20",
    extra_models: str = "",
    extra: str = "",
) -> str:
    """Every ``emu-*`` scenario as a model of the same name, plus ``ok`` (echo)."""
    return f"""
admin: {{master_key: "{MASTER_KEY}"}}
state: {state}
server: {{{server}}}
accounting: {{flush_interval_s: 0.02, store_timeout_s: 0.5}}
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "{UPSTREAM_KEY}"
    health: null
    timeouts: {timeouts}
models:
  ok: {{targets: [{{provider: emu, model: gpt-4o-mini}}], price: {{input: {PRICE}, output: {PRICE}}}}}
  "emu-*":
    targets: [{{provider: emu, model: "emu-*"}}]
    price: {{input: {PRICE}, output: {PRICE}}}
    routing: {{breaker: {{enabled: false}}}}
{extra_models}
teams:
  {TEAM}:
    models: ["*"]
    budget_usd: {BUDGET}
    limits: {{tpm: {TPM}, concurrency: {CONCURRENCY}}}
keys:
  - {{team: {TEAM}, key: "{FAULT_KEY}"}}
{extra}
"""


def client(gateway: GatewayProcess, timeout: float = 20) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url,
        headers={"authorization": f"Bearer {FAULT_KEY}"},
        timeout=timeout,
    )


def chat(model: str, rid: str, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": f"fault scenario {rid}"}],
        "max_tokens": FAULT_MAX_TOKENS,
        **extra,
    }
    if stream:
        body["stream"] = True
    return body


class Outcome:
    """What one request looked like from the client's side."""

    def __init__(self, rid: str) -> None:
        self.rid = rid
        self.status = 0
        self.error: dict[str, Any] | None = None  # an error body, or a stream's error event
        self.chunks = 0
        self.done = False
        self.seconds = 0.0
        self.transport_error: str | None = None

    def __repr__(self) -> str:
        return (
            f"Outcome({self.rid}: {self.status}, chunks={self.chunks}, done={self.done}, "
            f"error={self.error}, {self.seconds:.2f}s, transport={self.transport_error})"
        )


def call(http: httpx.Client, body: dict[str, Any], rid: str) -> Outcome:
    """Send one chat request and read it to the end (streams event by event)."""
    import json

    out = Outcome(rid)
    started = time.monotonic()
    try:
        with http.stream(
            "POST", "/v1/chat/completions", json=body, headers={"x-request-id": rid}
        ) as response:
            out.status = response.status_code
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                response.read()
                if response.status_code != 200:
                    out.error = response.json()["error"]
            else:
                for line in response.iter_lines():
                    if line == "data: [DONE]":
                        out.done = True
                    elif line.startswith("data: "):
                        event = json.loads(line[6:])
                        if "error" in event:
                            out.error = event["error"]
                        else:
                            out.chunks += 1
    except httpx.TransportError as exc:
        out.transport_error = type(exc).__name__
    out.seconds = time.monotonic() - started
    return out


def burst(http: httpx.Client, bodies: dict[str, dict[str, Any]]) -> dict[str, Outcome]:
    """Send every body at once (one thread each); outcomes by request id."""
    outcomes: dict[str, Outcome] = {}

    def run(rid: str, body: dict[str, Any]) -> None:
        outcomes[rid] = call(http, body, rid)

    threads = [threading.Thread(target=run, args=item) for item in bodies.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# --- the ledger invariants ---------------------------------------------------------------


def records(gateway: GatewayProcess, rid: str) -> list[dict[str, Any]]:
    with httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    ) as admin:
        response = admin.get("/admin/usage/records", params={"request_id": rid})
        assert response.status_code == 200, response.text
        return list(response.json()["data"])


def one_record_each(
    gateway: GatewayProcess, rids: list[str], timeout: float = 10
) -> dict[str, dict[str, Any]]:
    """Every request id has exactly one ledger record (waits for the flush)."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    for rid in rids:
        while True:
            rows = records(gateway, rid)
            assert len(rows) <= 1, f"{rid} recorded {len(rows)} times: {rows}"
            if rows:
                found[rid] = rows[0]
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no usage record for {rid}")
            time.sleep(0.05)
    return found


def held_usd(gateway: GatewayProcess) -> float:
    with httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    ) as admin:
        response = admin.get(f"/admin/teams/{TEAM}")
        assert response.status_code == 200, response.text
        return float(response.json()["spend"]["held_usd"])


def in_flight(gateway: GatewayProcess) -> float:
    text = scrape(gateway.url)
    total = 0.0
    for line in text.splitlines():
        if line.startswith("gateway_requests_in_flight"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def remaining_tokens(http: httpx.Client) -> int:
    """The team's TPM headroom as a tiny request sees it (after its own reservation)."""
    response = http.post(
        "/v1/chat/completions",
        json={"model": "ok", "messages": [{"role": "user", "content": "probe"}], "max_tokens": 1},
    )
    assert response.status_code == 200, response.text
    return int(response.headers["x-ratelimit-remaining-tokens"])


class Invariants:
    """Take a baseline, run a scenario, then ``check`` that it left nothing behind."""

    def __init__(self, gateway: GatewayProcess, http: httpx.Client) -> None:
        self.gateway = gateway
        self.http = http
        self.tokens = remaining_tokens(http)

    def check(self, rids: list[str], *, slots: bool = False) -> dict[str, dict[str, Any]]:
        found = one_record_each(self.gateway, rids)
        wait_until(lambda: held_usd(self.gateway) == 0, 10, "the budget holds to be released")
        wait_until(lambda: in_flight(self.gateway) == 0, 10, "no request in flight")
        # Real usage of the scenario and the probes is a few hundred tokens at most; one
        # leaked reservation is FAULT_MAX_TOKENS.
        after = remaining_tokens(self.http)
        assert after > self.tokens - FAULT_MAX_TOKENS // 10, (
            f"token reservations leaked: {self.tokens - after} tokens still held"
        )
        if slots:
            assert_all_slots_free(self.http)
        return found


def assert_all_slots_free(http: httpx.Client) -> None:
    """``CONCURRENCY`` requests at once are all admitted: no slot was leaked."""
    bodies = {
        f"slots-{time.monotonic_ns()}-{i}": {
            "model": "emu-slow-stream",
            "messages": [{"role": "user", "content": "slot"}],
            "max_tokens": 2,
        }
        for i in range(CONCURRENCY)
    }
    outcomes = burst(http, bodies)
    refused = [o for o in outcomes.values() if o.status == 429]
    assert not refused, f"{len(refused)} of {CONCURRENCY} refused: concurrency slots leaked"


@contextmanager
def gateway_process(
    config: str, tmp: Any, env: dict[str, str] | None = None
) -> Iterator[GatewayProcess]:
    tmp.mkdir(parents=True, exist_ok=True)
    process = GatewayProcess(
        config, tmp, env={"GATEWAY_DATA_DIR": str(tmp / "data"), **(env or {})}
    )
    try:
        process.wait("/health/live")
        yield process
    finally:
        process.stop()


def secrets_in(text: str) -> list[str]:
    """Any gateway or provider key that appears in ``text``."""
    return re.findall(r"sk-[A-Za-z0-9-]{16,}", text)
