"""Every gateway stage applies on /v1/responses and /v1/messages as on chat: guardrails
in and out (streams included), AI-content labels, rate limits (429 with retry-after,
in each API's own error shape), the response cache and the usage ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, wait_until
from tests.emulators.openai_upstream import EmulatorServer
from tests.surface_support import stages_yaml

KEYS = {team: f"sk-surface-{team}-0123456789" for team in ("pii", "lim", "cached", "plain", "out")}


@pytest.fixture(scope="module")
def gw(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("surfaces")
    key_file: Path = tmp / "keys" / "aigc.pem"
    keys = "\n".join(f'  - {{team: {t}, key: "{k}"}}' for t, k in KEYS.items())
    text = f"""
admin: {{master_key: "{MASTER_KEY}"}}
providers:
  emu: {{kind: openai, base_url: "{emulator.base_url}", api_key: "{UPSTREAM_KEY}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
{stages_yaml(key_file)}
teams:
  pii: {{guardrails: pii}}
  lim: {{limits: {{rpm: 2}}}}
  cached: {{cache: {{enabled: true}}}}
  plain: {{}}
  out: {{guardrails: outbound}}
keys:
{keys}
"""
    process = GatewayProcess(text, tmp)
    try:
        process.wait("/health/ready", timeout=60)
        yield process
    finally:
        process.stop()


def _responses(gw: GatewayProcess, team: str, **body: Any) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/responses",
        json={"model": "gpt-4o-mini", **body},
        headers={"authorization": f"Bearer {KEYS[team]}"},
        timeout=20,
    )


def _messages(gw: GatewayProcess, team: str, **body: Any) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/messages",
        json={"model": "gpt-4o-mini", "max_tokens": 50, **body},
        headers={"x-api-key": KEYS[team], "anthropic-version": "2023-06-01"},
        timeout=20,
    )


def test_input_guardrail_redacts_on_both_surfaces(gw: GatewayProcess) -> None:
    text = "mail me at ada@example.com"
    reply = _responses(gw, "pii", input=text)
    assert reply.status_code == 200, reply.text
    answer = reply.json()["output"][0]["content"][0]["text"]
    assert "ada@example.com" not in answer and answer.startswith("echo: mail me at")
    reply = _messages(gw, "pii", messages=[{"role": "user", "content": text}])
    assert reply.status_code == 200, reply.text
    assert "ada@example.com" not in reply.json()["content"][0]["text"]
    with httpx.stream(
        "POST",
        gw.url + "/v1/responses",
        json={"model": "gpt-4o-mini", "input": text, "stream": True},
        headers={"authorization": f"Bearer {KEYS['pii']}"},
    ) as stream:
        body = "".join(stream.iter_text())
    assert "ada@example.com" not in body and "response.completed" in body


def test_labels_on_both_surfaces(gw: GatewayProcess) -> None:
    for reply in (_responses(gw, "plain", input="hi"), _messages(gw, "plain",
                  messages=[{"role": "user", "content": "hi"}])):  # fmt: skip
        assert reply.status_code == 200
        label = json.loads(reply.headers["aigc"])
        assert label["ProduceID"]
    with httpx.stream(
        "POST",
        gw.url + "/v1/responses",
        json={"model": "gpt-4o-mini", "input": "hi", "stream": True},
        headers={"authorization": f"Bearer {KEYS['plain']}"},
    ) as stream:
        assert "aigc" in stream.headers
        lines = list(stream.iter_lines())
    assert any(line.startswith(":") for line in lines)  # the label binding, a comment


def test_rate_limits_in_each_shape(gw: GatewayProcess) -> None:
    statuses = [_responses(gw, "lim", input="x").status_code for _ in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] == 429
    limited = _responses(gw, "lim", input="x")
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert limited.json()["error"]["type"]
    limited = _messages(gw, "lim", messages=[{"role": "user", "content": "x"}])
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert limited.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": limited.json()["error"]["message"]},
    }


def test_cache_serves_the_second_identical_request(gw: GatewayProcess) -> None:
    first = _responses(gw, "cached", input="cache me please", store=False)
    second = _responses(gw, "cached", input="cache me please", store=False)
    assert first.headers["x-gateway-cache"] == "miss"
    assert second.headers["x-gateway-cache"] == "hit"
    assert second.json()["output"][0]["content"][0]["text"] == "echo: cache me please"
    assert second.json()["id"] != first.json()["id"]


def test_usage_reaches_the_ledger(gw: GatewayProcess) -> None:
    for path, body in (
        ("/v1/messages", {"max_tokens": 50, "messages": [{"role": "user", "content": "a b"}]}),
        ("/v1/responses", {"input": "a b"}),
    ):
        rid = "surface-ledger-" + path.rsplit("/", 1)[1]
        reply = httpx.post(
            gw.url + path,
            json={"model": "gpt-4o-mini", **body},
            headers={"authorization": f"Bearer {KEYS['plain']}", "x-request-id": rid},
        )
        assert reply.status_code == 200

        def record(rid: str = rid) -> Any:
            data = httpx.get(
                gw.url + "/admin/usage/records",
                params={"request_id": rid},
                headers={"authorization": f"Bearer {MASTER_KEY}"},
            ).json()["data"]
            return data[0] if data else None

        found = wait_until(record, timeout=10)
        assert found["team"] == "plain"
        assert found["prompt_tokens"] > 0 and found["completion_tokens"] > 0


def _stream(
    gw: GatewayProcess, path: str, headers: dict[str, str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    with httpx.stream("POST", gw.url + path, json=body, headers=headers, timeout=20) as reply:
        assert reply.status_code == 200
        return [json.loads(x[6:]) for x in reply.iter_lines() if x.startswith("data: ")]


def test_output_guardrail_on_both_surfaces(gw: GatewayProcess) -> None:
    """The upstream echoes a confidential term: blocked in the answer and mid-stream,
    never leaked, reported in each API's own terms."""
    text = "tell me about Project Kestrel please"
    blocked = _responses(gw, "out", input=text)
    assert "Kestrel" not in blocked.text
    assert blocked.status_code == 200
    assert blocked.json()["status"] == "incomplete"
    assert blocked.json()["incomplete_details"] == {"reason": "content_filter"}
    auth = {"authorization": f"Bearer {KEYS['out']}"}
    events = _stream(gw, "/v1/responses", auth,
                     {"model": "gpt-4o-mini", "input": text, "stream": True})  # fmt: skip
    assert "Kestrel" not in json.dumps(events)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}
    events = _stream(gw, "/v1/messages", {"x-api-key": KEYS["out"]},
                     {"model": "gpt-4o-mini", "max_tokens": 50, "stream": True,
                      "messages": [{"role": "user", "content": text}]})  # fmt: skip
    assert "Kestrel" not in json.dumps(events)
    [delta] = [e for e in events if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "refusal"
