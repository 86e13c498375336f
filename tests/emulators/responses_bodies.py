"""OpenAI's Responses API (``POST /v1/responses``) for the OpenAI emulator: documents
only, no I/O (``openai_upstream`` does the wire).

The answer follows the chat emulator's echo semantics (``plan_chat`` on the request's
chat reading): ``echo: <last user text>``, a call of the first (or chosen) function
tool unless the last item is a ``function_call_output``, ``text.format`` json answers
``{"echo": text}``, ``max_output_tokens`` keeps that many words (``incomplete``,
``max_output_tokens``). What only the Responses API has:

- ``reasoning`` set: a ``reasoning`` item first (8 reasoning tokens within the output
  tokens); with ``include: ["reasoning.encrypted_content"]`` it carries
  ``encrypted_content``, which the emulator checks when it is sent back as input.
- ``previous_response_id``: a 400 unless this emulator made that response (it keeps
  none), as OpenAI answers for an id it does not know.
- built-in tools (``web_search``...) are accepted; unknown tool types are a 400.
- usage: ``input_tokens`` (+ ``cached_tokens`` 0), ``output_tokens`` (+
  ``reasoning_tokens``), ``total_tokens``.

Streams are the documented event sequence, each ``event: <type>`` + ``data:`` with a
``sequence_number`` from 0, ending with ``response.completed`` (or ``.incomplete``) and
no ``[DONE]``.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .openai_bodies import chat_prompt_tokens, new_id, plan_chat, tokenize

Json = dict[str, Any]
REASONING_TOKENS = 8
REASONING_SUMMARY = "thought about it"
BUILT_IN = frozenset(
    {"web_search", "web_search_preview", "file_search", "code_interpreter", "image_generation",
     "mcp", "local_shell", "computer_use_preview", "custom", "shell", "apply_patch",
     "namespace"}
)  # fmt: skip


def encrypted(item_id: str) -> str:
    return "enc_" + hashlib.sha256(item_id.encode()).hexdigest()[:40]


def problem(body: Json) -> str | None:
    """Why OpenAI would refuse ``body`` (400), or None."""
    if body.get("previous_response_id") is not None:
        return f"Previous response with id '{body['previous_response_id']}' not found."
    if body.get("input") is None:
        return "Missing required parameter: 'input'."
    for tool in body.get("tools") or ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function" and kind not in BUILT_IN:
            return f"Invalid value: '{kind}'. Supported values are: 'function', 'web_search'."
    for item in body.get("input") if isinstance(body.get("input"), list) else ():
        if isinstance(item, dict) and item.get("type") == "reasoning":
            sent = item.get("encrypted_content")
            if sent is not None and sent != encrypted(str(item.get("id"))):
                return "The encrypted content for item could not be verified."
    return None


def _text(content: Any) -> Any:
    if isinstance(content, list):
        return "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return content


def chat_reading(body: Json) -> Json:
    """The request as the chat emulator plans answers for it."""
    messages: list[Json] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item.get("role"), "content": _text(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")}}  # fmt: skip
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": item.get("output")})
    chat: Json = {"messages": messages}
    offered = list(body.get("tools") or ())
    for tool in list(offered):  # a namespace's functions are callable like the others
        if tool.get("type") == "namespace":
            offered.extend(tool.get("tools") or ())
    tools = [t for t in offered if t.get("type") == "function"]
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("name"):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif choice == "none":
        chat["tool_choice"] = "none"
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        chat["response_format"] = {"type": fmt["type"]}
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    return chat


def _tool(tool: Json) -> Json:
    """A tool as OpenAI echoes it: function tools with ``strict`` filled in."""
    return {"strict": True, **tool} if tool.get("type") == "function" else tool


def response_body(body: Json, model: str) -> Json:
    """The whole ``Response`` for ``body``."""
    chat = chat_reading(body)
    [choice] = plan_chat(chat)
    output: list[Json] = []
    reasoning_tokens = 0
    if isinstance(body.get("reasoning"), dict):
        reasoning_tokens = REASONING_TOKENS
        item_id = new_id("rs_", 32)
        item: Json = {
            "id": item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": REASONING_SUMMARY}],
        }
        if "reasoning.encrypted_content" in (body.get("include") or ()):
            item["encrypted_content"] = encrypted(item_id)
        output.append(item)
    status = "incomplete" if choice.finish_reason == "length" else "completed"
    if choice.tool_call is not None:
        call = choice.tool_call
        output.append(
            {"id": new_id("fc_", 32), "type": "function_call", "status": "completed",
             "call_id": call.id, "name": call.name, "arguments": call.arguments}
        )  # fmt: skip
        produced = len(tokenize(call.arguments))
    else:
        text = choice.content or ""
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        output.append(
            {"id": new_id("msg_", 32), "type": "message", "role": "assistant",
             "status": status, "content": [part]}
        )  # fmt: skip
        produced = len(tokenize(text))
    prompt = chat_prompt_tokens(chat)
    completion = produced + reasoning_tokens
    now = int(time.time())
    return {
        "id": new_id("resp_", 32),
        "object": "response",
        "created_at": now,
        "status": status,
        "completed_at": now if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_tool(tool) for tool in body.get("tools") or ()],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "metadata": body.get("metadata") or {},
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt + completion,
        },
    }


def response_events(response: Json) -> list[Json]:
    """The stream of ``response``, event by event (numbered)."""
    events: list[Json] = []
    shell = {**response, "status": "in_progress", "output": [], "completed_at": None,
             "incomplete_details": None}  # fmt: skip
    del shell["usage"]
    events.append({"type": "response.created", "response": shell})
    events.append({"type": "response.in_progress", "response": shell})
    for index, item in enumerate(response["output"]):
        base = {"output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            ids = {"item_id": item["id"], **base, "content_index": 0}
            events.append({"type": "response.output_item.added", **base,
                           "item": {**item, "status": "in_progress", "content": []}})  # fmt: skip
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append({"type": "response.content_part.added", **ids, "part": empty})
            for piece in tokenize(text):
                events.append({"type": "response.output_text.delta", **ids, "delta": piece,
                               "logprobs": []})  # fmt: skip
            events.append({"type": "response.output_text.done", **ids, "text": text,
                           "logprobs": []})  # fmt: skip
            events.append({"type": "response.content_part.done", **ids,
                           "part": item["content"][0]})  # fmt: skip
        elif item["type"] == "function_call":
            events.append({"type": "response.output_item.added", **base,
                           "item": {**item, "status": "in_progress", "arguments": ""}})  # fmt: skip
            ids = {"item_id": item["id"], **base}
            for piece in tokenize(item["arguments"]):
                events.append({"type": "response.function_call_arguments.delta", **ids,
                               "delta": piece})  # fmt: skip
            events.append({"type": "response.function_call_arguments.done", **ids,
                           "name": item["name"], "arguments": item["arguments"]})  # fmt: skip
        else:
            events.append({"type": "response.output_item.added", **base, "item": item})
        events.append({"type": "response.output_item.done", **base, "item": item})
    final = "response.completed" if response["status"] == "completed" else "response.incomplete"
    events.append({"type": final, "response": response})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def named_sse(event: Json) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return b"event: " + event["type"].encode() + b"\ndata: " + data.encode() + b"\n\n"
