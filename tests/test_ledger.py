"""The usage ledger end to end: one record per request however it ends, the tokens the
client actually got, tiktoken counts where the upstream reports none, cost in a header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.accounting.tokens import count_request_tokens, count_text
from gateway.wire.types import Endpoint
from tests import openapi_schema
from tests.accounting_helpers import (
    FREE_KEY,
    PRICE,
    accounting_config,
    chat,
    embedded_state,
    start_gateway,
    wait_record,
)
from tests.conftest import GatewayProcess
from tests.emulators.silent_upstream import WORDS, SilentServer


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer(delay=0.1).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ledger_gateway(emulator, silent, tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("ledger")
    gateway = start_gateway(
        accounting_config(emulator.base_url, silent.base_url, state=embedded_state(tmp)), tmp
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def http(ledger_gateway) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=ledger_gateway.url, timeout=20, headers={"authorization": f"Bearer {FREE_KEY}"}
    ) as client:
        yield client


def _cost(prompt: int, completion: int) -> float:
    return (prompt + completion) * PRICE / 1e6


def _events(response: httpx.Response, stop_after: int | None = None) -> list[dict]:
    chunks = []
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            chunks.append(json.loads(line[6:]))
            if stop_after is not None and len(chunks) == stop_after:
                break
    return chunks


def _text(chunks: list[dict]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


def test_reported_usage_is_recorded_and_priced(ledger_gateway, http) -> None:
    response = http.post(
        "/v1/chat/completions",
        json=chat(text="price this please"),
        headers={"x-request-id": "ledger-reported"},
    )
    assert response.status_code == 200
    usage = response.json()["usage"]
    record = wait_record(ledger_gateway, "ledger-reported")
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert record["estimated"] is False and record["status"] == 200
    assert record["team"] == "free" and record["target"] == "emu/gpt-4o-mini"
    expected = _cost(usage["prompt_tokens"], usage["completion_tokens"])
    assert record["cost_usd"] == pytest.approx(expected, abs=1e-12)
    assert float(response.headers["x-gateway-cost-usd"]) == pytest.approx(expected, abs=1e-12)


def test_stream_cut_after_three_chunks_records_what_was_delivered(ledger_gateway, http) -> None:
    body = chat("slow", "count for me", stream=True)
    with http.stream(
        "POST", "/v1/chat/completions", json=body, headers={"x-request-id": "ledger-cut"}
    ) as response:
        received = _events(response, stop_after=3)
    record = wait_record(ledger_gateway, "ledger-cut")
    # The emulator's slow stream is "tick1 tick2 ... tick20", one word per chunk. The
    # gateway charges what it wrote to the socket: a few chunks may land in kernel
    # buffers before it sees the client leave, but the upstream is cancelled well
    # before the end of the stream.
    words = [f"tick{i}" for i in range(1, 21)]
    shown = _text(received).split()
    assert 2 <= len(shown) <= 3 and shown == words[: len(shown)]
    least = count_text(" ".join(shown), "emu-slow-stream")
    most = count_text(" ".join(words[:-1]), "emu-slow-stream")
    assert least <= record["completion_tokens"] <= most, record
    assert record["prompt_tokens"] == count_request_tokens(Endpoint.CHAT, body, "emu-slow-stream")
    assert record["status"] == 499 and record["stream"] is True and record["estimated"] is True
    assert record["cost_usd"] == pytest.approx(
        _cost(record["prompt_tokens"], record["completion_tokens"]), abs=1e-12
    )


@pytest.mark.parametrize("include_usage", [True, False], ids=["include-usage", "no-usage"])
def test_silent_upstream_stream_is_counted(
    ledger_gateway, http, silent, include_usage: bool
) -> None:
    rid = f"ledger-silent-{include_usage}"
    body = chat("silent", "say nine words", stream=True, max_tokens=9)
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    with http.stream(
        "POST", "/v1/chat/completions", json=body, headers={"x-request-id": rid}
    ) as response:
        chunks = _events(response)
    prompt = count_request_tokens(Endpoint.CHAT, body, "silent")
    completion = count_text(" ".join(WORDS[:9]), "silent")
    usage_chunks = [c for c in chunks if c.get("usage")]
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1]
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        for chunk in chunks:
            openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
    else:
        assert usage_chunks == []
    record = wait_record(ledger_gateway, rid)
    assert (record["prompt_tokens"], record["completion_tokens"]) == (prompt, completion)
    assert record["estimated"] is True and record["status"] == 200


def test_silent_upstream_answer_gets_counted_usage(ledger_gateway, silent) -> None:
    client = openai.OpenAI(base_url=ledger_gateway.url + "/v1", api_key=FREE_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="silent",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=5,
        extra_headers={"x-request-id": "ledger-silent-body"},
    )
    completion = raw.parse()
    expected = count_text(" ".join(WORDS[:5]), "silent")
    assert completion.usage is not None and completion.usage.completion_tokens == expected
    record = wait_record(ledger_gateway, "ledger-silent-body")
    assert record["completion_tokens"] == expected and record["estimated"] is True
    assert float(raw.headers["x-gateway-cost-usd"]) == pytest.approx(record["cost_usd"])


def test_every_request_is_recorded_exactly_once(ledger_gateway, http) -> None:
    cases = {
        "once-ok": (chat(), 200),
        "once-stream": (chat(stream=True, stream_options={"include_usage": True}), 200),
        "once-upstream-500": (chat("err-500"), 502),
        "once-unknown-model": (chat("no-such-model"), 404),
        "once-bad-body": ({"model": "gpt-4o-mini"}, 400),
    }
    for rid, (body, status) in cases.items():
        response = http.post("/v1/chat/completions", json=body, headers={"x-request-id": rid})
        assert response.status_code == status, (rid, response.text)
    for rid, (_, status) in cases.items():
        record = wait_record(ledger_gateway, rid)  # asserts a single record
        assert record["status"] == status, (rid, record)
    failed = wait_record(ledger_gateway, "once-upstream-500")
    assert failed["cost_usd"] == 0 and failed["completion_tokens"] == 0


def test_upstream_failure_after_partial_output_charges_what_was_delivered(
    ledger_gateway, http
) -> None:
    body = chat("stream-error", "three and then trouble", stream=True)
    with http.stream(
        "POST", "/v1/chat/completions", json=body, headers={"x-request-id": "ledger-partial"}
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert any('"error"' in line for line in lines)
    record = wait_record(ledger_gateway, "ledger-partial")
    assert record["status"] >= 500 and record["estimated"] is True
    assert record["completion_tokens"] > 0 and record["cost_usd"] > 0


def test_unauthenticated_requests_are_not_charged(ledger_gateway) -> None:
    response = httpx.post(
        ledger_gateway.url + "/v1/chat/completions",
        json=chat(),
        headers={"authorization": "Bearer sk-nobody-0123456789", "x-request-id": "ledger-nobody"},
    )
    assert response.status_code == 401
    with httpx.Client(base_url=ledger_gateway.url, timeout=10) as client:
        from tests.conftest import MASTER_KEY

        found = client.get(
            "/admin/usage/records",
            params={"request_id": "ledger-nobody"},
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        ).json()
    assert found["data"] == []
