"""Native pass-through: /v1/responses to ``kind: openai`` targets goes to the upstream's
own /v1/responses, /v1/messages to ``kind: anthropic`` targets to its /v1/messages,
with every stage still applied (input redaction in the body sent upstream, output
guard, labels, reservations, ledger from the native usage); other providers are still
reached through chat. The upstreams are the OpenAI and Anthropic emulators, which
record the path and body of every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, scrape, wait_until
from tests.emulators.anthropic_upstream import AnthropicServer
from tests.emulators.openai_upstream import EmulatorServer
from tests.emulators.responses_bodies import REASONING_TOKENS
from tests.openapi_schema import validate
from tests.surface_support import stages_yaml

ANTHROPIC_KEY = "sk-ant-native-0123456789"
CLAUDE = "claude-sonnet-4-20250514"
KEYS = {team: f"sk-native-{team}-0123456789" for team in ("plain", "pii", "out", "tight")}
SECRET_TERM = "Project Kestrel"
LONG_SYSTEM = " ".join(f"rule{i}" for i in range(60))


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[EmulatorServer, AnthropicServer]]:
    emu = EmulatorServer(api_key=UPSTREAM_KEY)
    emu.start()
    ant = AnthropicServer(api_key=ANTHROPIC_KEY).start()
    try:
        yield emu, ant
    finally:
        ant.stop()
        emu.stop()


@pytest.fixture(scope="module")
def gw(
    upstreams: tuple[EmulatorServer, AnthropicServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    emu, ant = upstreams
    tmp = tmp_path_factory.mktemp("native")
    keys = "\n".join(f'  - {{team: {t}, key: "{k}"}}' for t, k in KEYS.items())
    text = f"""
admin: {{master_key: "{MASTER_KEY}"}}
providers:
  emu: {{kind: openai, base_url: "{emu.base_url}", api_key: "{UPSTREAM_KEY}"}}
  compat: {{kind: openai-compatible, base_url: "{emu.base_url}", api_key: "{UPSTREAM_KEY}"}}
  ant: {{kind: anthropic, base_url: "{ant.base_url}", api_key: "{ANTHROPIC_KEY}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}], price: {{input: 1, output: 2}}}}
  compat: {{targets: [{{provider: compat, model: gpt-4o-mini}}]}}
  claude: {{targets: [{{provider: ant, model: {CLAUDE}}}], price: {{input: 3, output: 15}}}}
{stages_yaml(tmp / "keys" / "aigc.pem")}
teams:
  plain: {{}}
  pii: {{guardrails: pii}}
  out: {{guardrails: outbound}}
  tight: {{limits: {{tpm: 300}}}}
keys:
{keys}
"""
    process = GatewayProcess(text, tmp)
    try:
        process.wait("/health/ready", timeout=60)
        yield process
    finally:
        process.stop()


def _oa(gw: GatewayProcess, team: str = "plain") -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=KEYS[team], max_retries=0)


def _ant(gw: GatewayProcess, team: str = "plain") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=KEYS[team], max_retries=0)


def _sent(server: EmulatorServer | AnthropicServer, suffix: str) -> list[dict[str, Any]]:
    """The bodies the upstream received on paths ending with ``suffix``, oldest first."""
    requests = server.emulator.requests if isinstance(server, AnthropicServer) else server.requests
    return [r["body"] for r in requests if r["path"].endswith(suffix)]


def _stream(gw: GatewayProcess, path: str, team: str, body: dict[str, Any]) -> list[Any]:
    headers = {"authorization": f"Bearer {KEYS[team]}"}
    with httpx.stream("POST", gw.url + path, json=body, headers=headers, timeout=20) as reply:
        assert reply.status_code == 200, reply.read()
        return [json.loads(x[6:]) for x in reply.iter_lines() if x.startswith("data: ")]


# --- Responses → kind openai --------------------------------------------------------------


def test_responses_native_fields_survive_both_ways(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    emu, _ = upstreams
    client = _oa(gw)
    first = client.responses.create(
        model="gpt-4o-mini",
        input="think first",
        reasoning={"effort": "low"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    sent = _sent(emu, "/v1/responses")[-1]
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert sent["reasoning"] == {"effort": "low"} and sent["model"] == "gpt-4o-mini"
    [reasoning] = [item for item in first.output if item.type == "reasoning"]
    assert reasoning.encrypted_content and reasoning.encrypted_content.startswith("enc_")
    assert first.output_text == "echo: think first"
    assert first.usage is not None
    assert first.usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS
    raw = httpx.post(
        gw.url + "/v1/responses",
        json={"model": "gpt-4o-mini", "input": "again", "reasoning": {"effort": "low"}},
        headers={"authorization": f"Bearer {KEYS['plain']}"},
    )
    validate("Response", raw.json())
    # The encrypted reasoning goes back upstream (the emulator checks it) in the next turn.
    second = client.responses.create(
        model="gpt-4o-mini",
        input=[
            {"role": "user", "content": "think first"},
            reasoning.model_dump(exclude_none=True),
            {"role": "assistant", "content": first.output_text},
            {"role": "user", "content": "and then?"},
        ],
        reasoning={"effort": "low"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert second.output_text == "echo: and then?"
    items = _sent(emu, "/v1/responses")[-1]["input"]
    assert items[1]["encrypted_content"] == reasoning.encrypted_content
    assert items[1]["summary"] == []  # readable model text no stage saw stays behind
    assert not _sent(emu, "/v1/chat/completions")  # nothing went through chat


def test_responses_native_stream_with_the_sdk(gw: GatewayProcess) -> None:
    with _oa(gw).responses.stream(
        model="gpt-4o-mini", input="streamed native words", reasoning={"effort": "low"}
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == final.output_text == "echo: streamed native words"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [item.type for item in final.output] == ["reasoning", "message"]
    raw = _stream(
        gw, "/v1/responses", "plain", {"model": "gpt-4o-mini", "input": "a b", "stream": True}
    )
    for event in raw:
        validate("ResponseStreamEvent", event)
    assert raw[-1]["response"]["id"] == raw[0]["response"]["id"]


def test_responses_native_function_call_stream(gw: GatewayProcess) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    events = _stream(
        gw,
        "/v1/responses",
        "plain",
        {"model": "gpt-4o-mini", "input": "q", "tools": [tool], "stream": True},
    )
    for event in events:
        validate("ResponseStreamEvent", event)
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert json.loads(done[0]["arguments"]) == {"query": "q"}


def test_previous_response_id_goes_inline(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    emu, _ = upstreams
    client = _oa(gw)
    first = client.responses.create(model="gpt-4o-mini", input="my name is Ada")
    second = client.responses.create(
        model="gpt-4o-mini", input="who am I?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id and second.id != first.id
    sent = _sent(emu, "/v1/responses")[-1]
    assert "previous_response_id" not in sent and len(sent["input"]) == 3
    assert client.responses.retrieve(second.id).output_text == "echo: who am I?"


# --- Messages → kind anthropic ------------------------------------------------------------


def test_messages_native_cache_control_and_cache_counters(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    _, ant = upstreams
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": "hello cache"}]
    client = _ant(gw)
    first = client.messages.create(model="claude", max_tokens=50, system=system, messages=messages)  # type: ignore[arg-type]
    second = client.messages.create(model="claude", max_tokens=50, system=system, messages=messages)  # type: ignore[arg-type]
    sent = _sent(ant, "/v1/messages")[-1]
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["model"] == CLAUDE
    assert first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.content[0].type == "text" and second.content[0].text == "echo: hello cache"
    assert second.model == "claude"


def test_messages_native_stream_with_the_sdk(gw: GatewayProcess) -> None:
    with _ant(gw).messages.stream(
        model="claude", max_tokens=50, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        kinds = [event.type for event in stream]
        text = stream.get_final_text()
        final = stream.get_final_message()
    assert text == "echo: stream me"
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "message_delta" in kinds
    assert final.usage.output_tokens > 0


def test_messages_native_thinking(gw: GatewayProcess) -> None:
    message = _ant(gw).messages.create(
        model="claude",
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "think"}],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].signature  # type: ignore[union-attr]


def test_messages_native_server_tool(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    _, ant = upstreams
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
    ask = {"role": "user", "content": "latest news"}
    client = _ant(gw)
    message = client.messages.create(
        model="claude",
        max_tokens=100,
        tools=[search],
        messages=[ask],  # type: ignore[list-item]
    )
    assert _sent(ant, "/v1/messages")[-1]["tools"] == [search]
    kinds = [block.type for block in message.content]
    assert kinds == ["server_tool_use", "web_search_tool_result", "text"]
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1
    # The provider's own blocks go back to it in the next turn.
    follow = client.messages.create(
        model="claude",
        max_tokens=100,
        tools=[search],  # type: ignore[list-item]
        messages=[
            ask,
            {"role": "assistant", "content": [b.model_dump() for b in message.content]},  # type: ignore[misc]
            {"role": "user", "content": "thanks"},
        ],
    )
    assert [b["type"] for b in _sent(ant, "/v1/messages")[-1]["messages"][1]["content"]] == kinds
    assert follow.content[-1].type == "text"
    with client.messages.stream(
        model="claude",
        max_tokens=100,
        tools=[search],
        messages=[ask],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == kinds
    assert stream.get_final_text() == "echo: latest news"


# --- stages on the native path ------------------------------------------------------------


def test_input_redaction_reaches_the_native_upstream(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    emu, ant = upstreams
    text = "mail me at ada@example.com"
    reply = _oa(gw, "pii").responses.create(model="gpt-4o-mini", input=text, instructions="hi")
    sent = _sent(emu, "/v1/responses")[-1]
    assert "ada@example.com" not in json.dumps(sent) and "mail me at" in sent["input"]
    assert "ada@example.com" not in reply.output_text
    message = _ant(gw, "pii").messages.create(
        model="claude",
        max_tokens=50,
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}],
            }
        ],
    )
    sent = _sent(ant, "/v1/messages")[-1]
    assert "ada@example.com" not in json.dumps(sent)
    [block] = sent["messages"][0]["content"]  # native: the block as the client sent it
    assert block["text"].startswith("mail me at") and "cache_control" in block
    assert "ada@example.com" not in message.content[0].text  # type: ignore[union-attr]
    events = _stream(
        gw, "/v1/responses", "pii", {"model": "gpt-4o-mini", "input": text, "stream": True}
    )
    assert "ada@example.com" not in json.dumps(events + _sent(emu, "/v1/responses")[-1:])


def test_text_the_chat_view_drops_never_goes_upstream_unseen(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    """A block the chat view has no place for (a document inside a tool result) would
    reach the upstream unguarded on the native path: the chat view goes instead."""
    _, ant = upstreams
    hidden = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "write to ada@example.com"},
    }
    reply = _ant(gw, "pii").messages.create(
        model="claude",
        max_tokens=50,
        messages=[
            {"role": "user", "content": "look it up"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "found"}, hidden],
                    }
                ],
            },
        ],  # type: ignore[list-item]
        tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
    )
    assert reply.stop_reason
    sent = _sent(ant, "/v1/messages")[-1]
    assert "ada@example.com" not in json.dumps(sent) and "document" not in json.dumps(sent)


def test_output_guard_and_labels_on_native_answers(gw: GatewayProcess) -> None:
    text = f"tell me about {SECRET_TERM} please"
    headers = {"authorization": f"Bearer {KEYS['out']}"}
    blocked = httpx.post(
        gw.url + "/v1/responses", headers=headers, json={"model": "gpt-4o-mini", "input": text}
    )
    assert SECRET_TERM not in blocked.text and blocked.json()["status"] == "incomplete"
    assert blocked.json()["incomplete_details"] == {"reason": "content_filter"}
    assert json.loads(blocked.headers["aigc"])["ProduceID"]
    events = _stream(
        gw, "/v1/responses", "out", {"model": "gpt-4o-mini", "input": text, "stream": True}
    )
    assert SECRET_TERM not in json.dumps(events)
    assert events[-1]["type"] == "response.incomplete"
    message = httpx.post(
        gw.url + "/v1/messages",
        headers=headers,
        json={"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": text}]},
    )
    assert SECRET_TERM not in message.text and message.json()["stop_reason"] == "refusal"
    events = _stream(
        gw,
        "/v1/messages",
        "out",
        {
            "model": "claude",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": text}],
        },
    )
    assert SECRET_TERM not in json.dumps(events)
    [delta] = [e for e in events if e["type"] == "message_delta"]
    assert delta["delta"]["stop_reason"] == "refusal"
    with httpx.stream(
        "POST",
        gw.url + "/v1/messages",
        headers={"authorization": f"Bearer {KEYS['plain']}"},
        json={
            "model": "claude",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ) as reply:
        assert "aigc" in reply.headers
        assert any(line.startswith(":") for line in reply.iter_lines())  # the label binding


def test_ledger_records_the_native_usage(gw: GatewayProcess) -> None:
    for path, body in (
        ("/v1/responses", {"model": "gpt-4o-mini", "input": "count me", "reasoning": {}}),
        (
            "/v1/messages",
            {
                "model": "claude",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "count me"}],
            },
        ),
    ):
        rid = "req_native_ledger_" + path.rsplit("/", 1)[1]
        reply = httpx.post(
            gw.url + path,
            json=body,
            headers={"authorization": f"Bearer {KEYS['plain']}", "x-request-id": rid},
        )
        assert reply.status_code == 200, reply.text
        usage = reply.json()["usage"]

        def record(rid: str = rid) -> Any:
            data = httpx.get(
                gw.url + "/admin/usage/records",
                params={"request_id": rid},
                headers={"authorization": f"Bearer {MASTER_KEY}"},
            ).json()["data"]
            return data[0] if data else None

        found = wait_until(record, timeout=10)
        assert found["completion_tokens"] == usage["output_tokens"]
        assert found["prompt_tokens"] >= usage["input_tokens"] > 0
        assert found["cost_usd"] > 0


def test_reservations_read_the_native_caps(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    emu, _ = upstreams
    headers = {"authorization": f"Bearer {KEYS['tight']}"}
    big = httpx.post(
        gw.url + "/v1/responses",
        headers=headers,
        json={
            "model": "gpt-4o-mini",
            "input": "x",
            "max_output_tokens": 5000,
            "reasoning": {"effort": "high"},
        },
    )
    assert big.status_code == 429, big.text
    big = httpx.post(
        gw.url + "/v1/messages",
        headers=headers,
        json={
            "model": "claude",
            "max_tokens": 5000,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert big.status_code == 429, big.text
    small = httpx.post(
        gw.url + "/v1/responses",
        headers=headers,
        json={"model": "gpt-4o-mini", "input": "x", "max_output_tokens": 20},
    )
    assert small.status_code == 200, small.text
    assert _sent(emu, "/v1/responses")[-1]["max_output_tokens"] == 20


# --- other providers, telemetry -------------------------------------------------------


def test_other_providers_still_translate(
    gw: GatewayProcess, upstreams: tuple[EmulatorServer, AnthropicServer]
) -> None:
    emu, _ = upstreams
    before = len(_sent(emu, "/v1/chat/completions"))
    reply = _oa(gw).responses.create(model="compat", input="via chat")
    assert reply.output_text == "echo: via chat"
    message = _ant(gw).messages.create(
        model="gpt-4o-mini", max_tokens=30, messages=[{"role": "user", "content": "via chat"}]
    )
    assert message.content[0].text == "echo: via chat"  # type: ignore[union-attr]
    chat = _sent(emu, "/v1/chat/completions")[before:]
    assert len(chat) == 2 and all("messages" in body for body in chat)


def test_access_log_and_metrics_name_the_surface(gw: GatewayProcess) -> None:
    _oa(gw).responses.create(model="gpt-4o-mini", input="log me")
    _ant(gw).messages.create(
        model="claude", max_tokens=30, messages=[{"role": "user", "content": "log me"}]
    )

    def endpoints() -> set[str] | None:
        lines = [json.loads(x) for x in gw.logs().splitlines() if x.startswith("{")]
        found = {line.get("endpoint") for line in lines}
        return found if {"responses", "messages"} <= found else None

    assert wait_until(endpoints, timeout=10)
    metrics = scrape(gw.url)
    assert 'endpoint="responses"' in metrics and 'endpoint="messages"' in metrics


def test_native_surfaces_are_declared_by_provider_kinds() -> None:
    from gateway.providers.registry import PROVIDERS

    served = {name: set(kind.native) for name, kind in PROVIDERS.items() if kind.native}
    assert served == {"openai": {"responses"}, "anthropic": {"messages"}}
