"""/v1/responses with the real ``openai`` SDK, translated onto chat-completions upstreams
(the OpenAI-wire emulator, and the loose ``openai-compatible`` one): create, stream,
function tools, structured output, ``previous_response_id``, retrieve, delete,
input items, team isolation and bad input. Every body and event validates against
OpenAI's OpenAPI schemas."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.conftest import RESTRICTED_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.openapi_schema import validate

TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
        "additionalProperties": False,
    },
    "strict": True,
}


def _last_upstream_body(emulator: EmulatorServer, path: str = "/responses") -> dict[str, Any]:
    """What the upstream was last sent: ``kind: openai`` serves Responses natively."""
    return [r for r in emulator.requests if r["path"].endswith(path)][-1]["body"]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "sparse"])
def test_create(client: openai.OpenAI, http: httpx.Client, model: str) -> None:
    response = client.responses.create(model=model, input="hello there", instructions="be kind")
    assert response.status == "completed"
    assert response.output_text == "echo: hello there"
    assert response.usage is not None and response.usage.input_tokens > 0
    assert response.id.startswith("resp_")
    raw = http.post("/v1/responses", json={"model": model, "input": "hi"})
    assert raw.status_code == 200, raw.text
    validate("Response", raw.json())
    assert raw.headers["x-gateway-target"]


def test_instructions_and_parameters_reach_the_upstream(
    client: openai.OpenAI, emulator: EmulatorServer
) -> None:
    client.responses.create(
        model="gpt-4o-mini",
        input="x",
        instructions="sys",
        temperature=0.3,
        max_output_tokens=40,
        store=False,
    )
    sent = _last_upstream_body(emulator)
    assert sent["instructions"] == "sys" and sent["input"] == "x"
    assert sent["temperature"] == 0.3 and sent["max_output_tokens"] == 40
    assert sent["store"] is False and "messages" not in sent


def test_stream_events_validate_in_order(http: httpx.Client) -> None:
    events: list[dict[str, Any]] = []
    with http.stream(
        "POST", "/v1/responses", json={"model": "gpt-4o-mini", "input": "a b c", "stream": True}
    ) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        names: list[str] = []
        for line in reply.iter_lines():
            if line.startswith("event: "):
                names.append(line[7:])
            elif line.startswith("data: "):
                events.append(json.loads(line[6:]))
    for event in events:
        validate("ResponseStreamEvent", event)
    kinds = [e["type"] for e in events]
    assert names == kinds
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "echo: a b c"
    assert events[-1]["response"]["usage"]["output_tokens"] > 0


def test_sdk_stream_helpers(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-4o-mini", input="streamed words") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "echo: streamed words"
    events = list(client.responses.create(model="sparse", input="yo", stream=True))
    assert events[-1].type == "response.completed"


def test_function_tool_round_trip(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="weather in Paris", tools=[TOOL])
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "lookup"
    assert json.loads(call.arguments) == {"query": "weather in Paris"}
    second = client.responses.create(
        model="gpt-4o-mini",
        tools=[TOOL],
        input=[
            {"role": "user", "content": "weather in Paris"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
    )
    assert second.output_text
    assert not [item for item in second.output if item.type == "function_call"]


def test_function_call_stream(http: httpx.Client) -> None:
    body = {"model": "gpt-4o-mini", "input": "q", "tools": [TOOL], "stream": True}
    with http.stream("POST", "/v1/responses", json=body) as reply:
        events = [json.loads(x[6:]) for x in reply.iter_lines() if x.startswith("data: ")]
    for event in events:
        validate("ResponseStreamEvent", event)
    kinds = [e["type"] for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert json.loads(done[0]["arguments"]) == {"query": "q"}


class Echo(BaseModel):
    echo: str


def test_structured_output_parse(client: openai.OpenAI, emulator: EmulatorServer) -> None:
    parsed = client.responses.parse(model="gpt-4o-mini", input="shape me", text_format=Echo)
    assert parsed.output_parsed == Echo(echo="shape me")
    sent = _last_upstream_body(emulator)
    assert sent["text"]["format"]["type"] == "json_schema"
    assert sent["text"]["format"]["name"] == "Echo"


def test_previous_response_id_chaining(client: openai.OpenAI, emulator: EmulatorServer) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="my name is Ada")
    second = client.responses.create(
        model="gpt-4o-mini", input="what is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    # The upstream knows none of the gateway's ids: the conversation goes inline.
    sent = _last_upstream_body(emulator)
    assert "previous_response_id" not in sent
    assert [m["role"] for m in sent["input"]] == ["user", "assistant", "user"]
    assert sent["input"][0]["content"] == "my name is Ada"
    assert sent["input"][1]["content"][0]["text"] == "echo: my name is Ada"
    third = client.responses.create(
        model="gpt-4o-mini", input="and again?", previous_response_id=second.id
    )
    assert third.status == "completed"
    assert len(_last_upstream_body(emulator)["input"]) == 5


def test_retrieve_delete_and_input_items(client: openai.OpenAI, http: httpx.Client) -> None:
    created = client.responses.create(model="gpt-4o-mini", input="keep me")
    fetched = client.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.output_text == "echo: keep me"
    validate("Response", http.get(f"/v1/responses/{created.id}").json())
    items = client.responses.input_items.list(created.id)
    assert [i.type for i in items.data] == ["message"]
    listed = http.get(f"/v1/responses/{created.id}/input_items").json()
    validate("ResponseItemList", listed)
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_store_false_is_not_kept(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4o-mini", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_another_teams_response_is_not_found(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    mine = client.responses.create(model="gpt-4o-mini", input="secret")
    other = openai.OpenAI(base_url=gateway.url + "/v1", api_key=RESTRICTED_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown:
        other.responses.retrieve("resp_doesnotexist")
    with pytest.raises(openai.NotFoundError) as foreign:
        other.responses.retrieve(mine.id)
    assert unknown.value.body and foreign.value.body
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model="gpt-4o-mini", input="x", previous_response_id=mine.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(mine.id)
    assert client.responses.retrieve(mine.id).id == mine.id


BAD: list[tuple[dict[str, Any], int, str | None]] = [
    ({"model": "gpt-4o-mini", "input": [{"type": "bogus"}]}, 400, "input[0].type"),
    ({"model": "gpt-4o-mini", "input": ["not an item"]}, 400, "input[0]"),
    ({"model": "gpt-4o-mini", "input": [{"role": "user"}]}, 400, "input[0].content"),
    (
        {"model": "gpt-4o-mini", "input": "x", "tools": [{"type": "hologram"}]},
        400,
        "tools[0].type",
    ),
    ({"model": "gpt-4o-mini", "input": "x", "previous_response_id": "resp_nope"}, 404, None),
    ({"model": "gpt-4o-mini", "input": "x", "temperature": 9}, 400, "temperature"),
    ({"model": "no-such-model", "input": "x"}, 404, None),
    ({"input": "x"}, 400, "model"),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD)
def test_bad_input(
    http: httpx.Client, body: dict[str, Any], status: int, param: str | None
) -> None:
    reply = http.post("/v1/responses", json=body)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] == param


def test_oversized_input(http: httpx.Client) -> None:
    too_big = http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "x" * 70000})
    assert too_big.status_code == 413
    many = [{"role": "user", "content": "x"}] * 5000
    reply = http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": many})
    assert reply.status_code in (400, 413)
    assert "error" in reply.json()


def test_bad_key_is_401(gateway: GatewayProcess) -> None:
    reply = httpx.post(
        gateway.url + "/v1/responses",
        json={"model": "gpt-4o-mini", "input": "x"},
        headers={"authorization": "Bearer sk-nope"},
    )
    assert reply.status_code == 401
    assert (
        httpx.get(
            gateway.url + "/v1/responses/resp_x", headers={"authorization": "Bearer sk-nope"}
        ).status_code
        == 401
    )


def test_input_tokens(http: httpx.Client) -> None:
    small = http.post("/v1/responses/input_tokens", json={"model": "gpt-4o-mini", "input": "hi"})
    assert small.status_code == 200, small.text
    assert small.json()["object"] == "response.input_tokens"
    big = http.post(
        "/v1/responses/input_tokens",
        json={"model": "gpt-4o-mini", "input": "hi", "instructions": "be brief " * 30},
    )
    assert 0 < small.json()["input_tokens"] < big.json()["input_tokens"]
    bad = http.post("/v1/responses/input_tokens", json={"model": "nope", "input": "hi"})
    assert bad.status_code == 404


def test_upstream_error_mid_stream_is_an_error_event(http: httpx.Client) -> None:
    body = {"model": "stream-error", "input": "x", "stream": True}
    with http.stream("POST", "/v1/responses", json=body) as reply:
        assert reply.status_code == 200
        events = [json.loads(x[6:]) for x in reply.iter_lines() if x.startswith("data: ")]
    for event in events:
        validate("ResponseStreamEvent", event)
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "error" and events[-1]["message"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
