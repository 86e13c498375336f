"""The Responses ⇄ chat translator (gateway.providers.responses_chat), table-tested;
every body and event it produces validates against OpenAI's OpenAPI schemas."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import InvalidRequestError
from gateway.providers import responses_chat as rc
from tests.openapi_schema import validate

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}

REQUESTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "text input and instructions",
        {"model": "m", "input": "hi", "instructions": "be brief"},
        {
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
            ],
        },
    ),
    (
        "sampling, limits, parallel tool calls, stream",
        {
            "model": "m",
            "input": "hi",
            "temperature": 0.2,
            "top_p": 0.9,
            "max_output_tokens": 50,
            "parallel_tool_calls": False,
            "stream": True,
            "store": False,
            "metadata": {"a": "b"},
        },
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_completion_tokens": 50,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    (
        "message items with parts",
        {
            "model": "m",
            "input": [
                {"role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"},
                    ],
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_1",
                    "status": "completed",
                    "content": [
                        {"type": "output_text", "text": "ok", "annotations": [], "logprobs": []}
                    ],
                },
            ],
        },
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": "rules"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://x/y.png", "detail": "low"},
                        },
                    ],
                },
                {"role": "assistant", "content": "ok"},
            ],
        },
    ),
    (
        "function calls and their outputs; reasoning dropped",
        {
            "model": "m",
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "input": [
                {"role": "user", "content": "weather?"},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {
                    "type": "function_call",
                    "call_id": "c1",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                },
                {
                    "type": "function_call",
                    "call_id": "c2",
                    "name": "get_weather",
                    "arguments": '{"city":"Rome"}',
                },
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                {"type": "function_call_output", "call_id": "c2", "output": "rain"},
            ],
        },
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                {"role": "tool", "tool_call_id": "c2", "content": "rain"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parameters": WEATHER_TOOL["parameters"],
                        "strict": False,
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
    ),
    (
        "text.format json_schema",
        {
            "model": "m",
            "input": "x",
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "Thing",
                    "schema": {"type": "object"},
                    "strict": True,
                }
            },
        },
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Thing", "schema": {"type": "object"}, "strict": True},
            },
        },
    ),
    (
        "text.format text is the default; reasoning effort",
        {
            "model": "m",
            "input": "x",
            "text": {"format": {"type": "text"}},
            "reasoning": {"effort": "low"},
            "tool_choice": "required",
        },
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "reasoning_effort": "low",
        },
    ),
]


@pytest.mark.parametrize(("name", "body", "chat"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_request_to_chat(name: str, body: dict[str, Any], chat: dict[str, Any]) -> None:
    if name != "message items with parts":
        # The spec's input item union is a oneOf whose branches overlap (a message with
        # a parts list is both an ``Item`` and an ``EasyInputMessage``): not checkable.
        validate("CreateResponse", body)
    assert rc.request_to_chat(body) == chat


def test_history_goes_before_this_turn() -> None:
    history: list[dict[str, Any]] = [
        {"type": "message", "role": "user", "content": "first"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "one"}],
        },
    ]
    chat = rc.request_to_chat({"model": "m", "input": "second", "instructions": "s"}, history)
    assert [m["content"] for m in chat["messages"]] == ["s", "first", "one", "second"]


BAD: list[tuple[dict[str, Any], str]] = [
    ({"input": "x"}, "model"),
    ({"model": "m"}, "input"),
    ({"model": "m", "input": 3}, "input"),
    ({"model": "m", "input": ["x"]}, "input[0]"),
    ({"model": "m", "input": [{"type": "bogus"}]}, "input[0].type"),
    ({"model": "m", "input": [{"content": "x"}]}, "input[0].type"),
    ({"model": "m", "input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
    (
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
        "input[0].content[0].text",
    ),
    (
        {"model": "m", "input": [{"role": "user", "content": [{"type": "nope"}]}]},
        "input[0].content[0].type",
    ),
    ({"model": "m", "input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id"),
    (
        {"model": "m", "input": [{"type": "function_call_output", "output": "x"}]},
        "input[0].call_id",
    ),
    ({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"model": "m", "input": "x", "tools": [{"type": "hologram"}]}, "tools[0].type"),
    ({"model": "m", "input": "x", "tool_choice": {"type": "mcp"}}, "tool_choice"),
    ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ({"model": "m", "input": "x", "background": True}, "background"),
]


@pytest.mark.parametrize(("body", "param"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_names_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        rc.request_to_chat(body)
    assert raised.value.param == param
    assert raised.value.status_code == 400


def _chat(
    message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": usage
        or {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 1},
        },
    }


REQUEST = {"model": "m", "input": "hi", "tools": [WEATHER_TOOL], "instructions": "s"}


def test_text_answer_becomes_a_response() -> None:
    response = rc.chat_to_response(_chat({"content": "hello"}), REQUEST, "resp_1", 5)
    validate("Response", response)
    assert response["status"] == "completed"
    assert rc.output_text(response) == "hello"
    assert response["usage"] == {
        "input_tokens": 7,
        "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 1},
        "total_tokens": 10,
    }
    assert response["instructions"] == "s" and response["tools"] == [WEATHER_TOOL]


def test_tool_calls_become_function_call_items() -> None:
    chat = _chat(
        {
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        "tool_calls",
    )
    response = rc.chat_to_response(chat, REQUEST, "resp_1", 5)
    validate("Response", response)
    [item] = response["output"]
    assert (item["type"], item["call_id"], item["name"]) == (
        "function_call",
        "call_1",
        "get_weather",
    )
    assert rc.output_to_input(response["output"]) == [
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        }
    ]


def test_length_is_incomplete() -> None:
    response = rc.chat_to_response(_chat({"content": "cut"}, "length"), REQUEST, "resp_1", 5)
    validate("Response", response)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _run(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stream = rc.ResponseStreamTranslator(REQUEST, "resp_1", 5)
    events = stream.start()
    for chunk in chunks:
        events.extend(stream.feed(chunk))
    events.extend(stream.finish())
    for event in events:
        validate("ResponseStreamEvent", event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def test_text_stream_event_sequence() -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    events = _run(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Hel"}),
            _chunk({"content": "lo"}),
            _chunk({}, "stop"),
            {**_chunk({}), "choices": [], "usage": usage},
        ]
    )
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    done = events[-1]["response"]
    assert rc.output_text(done) == "Hello"
    assert done["usage"]["input_tokens"] == 4 and done["usage"]["output_tokens"] == 2
    validate("Response", done)


def test_tool_call_stream_event_sequence() -> None:
    events = _run(
        [
            _chunk({"content": "Let me check."}),
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                }
            ),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        }
                    ]
                }
            ),
            _chunk({}, "tool_calls"),
        ]
    )
    kinds = [e["type"] for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["message", "function_call", "function_call"]
    assert final["output"][1]["arguments"] == '{"city":"Paris"}'
    assert [e["output_index"] for e in events if e["type"] == "response.output_item.done"] == [
        0,
        1,
        2,
    ]


def test_stream_cut_by_length_is_incomplete() -> None:
    events = _run([_chunk({"content": "a"}), _chunk({}, "length")])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_error_event_validates() -> None:
    stream = rc.ResponseStreamTranslator(REQUEST, "resp_1", 5)
    stream.start()
    [event] = stream.error(
        {
            "error": {
                "message": "boom",
                "type": "server_error",
                "code": "upstream_error",
                "param": None,
            }
        }
    )
    validate("ResponseStreamEvent", event)
    assert event["sequence_number"] == 2


def test_namespaces_flattened_built_in_tools_not_offered() -> None:
    body = {
        "model": "m",
        "input": "x",
        "include": ["reasoning.encrypted_content"],
        "client_metadata": {"session_id": "s"},
        "tools": [
            {"type": "web_search", "external_web_access": False},
            {"type": "namespace", "name": "ns", "description": "d", "tools": [WEATHER_TOOL]},
        ],
    }
    chat = rc.request_to_chat(body)
    assert [t["function"]["name"] for t in chat["tools"]] == ["get_weather"]
    assert "include" not in chat and "client_metadata" not in chat
    only_built_in = rc.request_to_chat(
        {**body, "tools": [{"type": "web_search"}], "tool_choice": "auto",
         "parallel_tool_calls": True}
    )  # fmt: skip
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(only_built_in)


def test_reasoning_content_becomes_a_reasoning_item() -> None:
    chat = _chat({"content": "42", "reasoning_content": "think hard"})
    response = rc.chat_to_response(chat, REQUEST, "resp_1", 5)
    validate("Response", response)
    assert [i["type"] for i in response["output"]] == ["reasoning", "message"]
    assert response["output"][0]["content"][0]["text"] == "think hard"
    events = _run([
        _chunk({"reasoning_content": "think "}),
        _chunk({"reasoning_content": "hard"}),
        _chunk({"content": "42"}),
        _chunk({}, "stop"),
    ])  # fmt: skip
    kinds = [e["type"] for e in events]
    assert kinds[2:7] == [
        "response.output_item.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.output_item.done",
    ]
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["reasoning", "message"]
    assert final["output"][0]["content"][0]["text"] == "think hard"
