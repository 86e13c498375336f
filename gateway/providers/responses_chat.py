"""OpenAI's Responses API ⇄ chat completions: one schema pair, pure functions.

The gateway runs every client surface through the chat pipeline: a Responses request
becomes the neutral chat request (``request_to_chat``), and the chat answer becomes a
``Response`` (``chat_to_response``) or, streamed, the ``ResponseStreamEvent`` sequence
(``ResponseStreamTranslator``): ``response.created``, ``response.in_progress``, per
output item ``output_item.added`` → (``content_part.added`` → ``output_text.delta``… →
``output_text.done`` → ``content_part.done`` | ``function_call_arguments.delta``… →
``function_call_arguments.done``) → ``output_item.done``, then ``response.completed``
(or ``response.incomplete`` when the answer hit its token limit), every event with an
increasing ``sequence_number``.

What chat cannot express is refused with a 400 naming the parameter (built-in tools,
``background``, item references) rather than silently dropped; reasoning items from an
earlier turn are dropped (a chat upstream cannot take them back).

Nothing here does I/O or keeps state between requests.
"""

from __future__ import annotations

import os
import time
from typing import Any

from gateway.errors import InvalidRequestError

# Parameters copied as they are (same name and meaning in both schemas).
_SAME = ("model", "temperature", "top_p", "parallel_tool_calls", "user", "top_logprobs")
# Responses parameters the gateway itself acts on (the route), never sent to a chat upstream.
ROUTE_FIELDS = frozenset(
    {"store", "previous_response_id", "include", "truncation", "metadata", "background"}
)
_KNOWN = frozenset(
    {
        *_SAME,
        *ROUTE_FIELDS,
        "input",
        "instructions",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "text",
        "max_output_tokens",
        "reasoning",
        "safety_identifier",
        "prompt_cache_key",
        "service_tier",
        "max_tool_calls",
        "prompt_cache_retention",
        "conversation",
        "prompt",
        "client_metadata",
    }
)
_ROLES = frozenset({"user", "assistant", "system", "developer"})


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(12).hex()}"


def _bad(message: str, param: str, code: str = "invalid_value") -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code=code)


# --- request ------------------------------------------------------------------------------


def request_to_chat(
    body: dict[str, Any], history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The chat completions body for a Responses ``body``. ``history`` is the input
    items of earlier turns (``previous_response_id``, resolved by the caller), placed
    before this turn's ``input``."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if body.get("background"):
        raise _bad("'background' responses are not supported by this gateway.", "background")
    if body.get("conversation") is not None:
        raise _bad(
            "'conversation' is not supported by this gateway; use 'previous_response_id'.",
            "conversation",
        )
    if body.get("prompt") is not None:
        raise _bad(
            "Stored prompt templates ('prompt') are not supported by this gateway.", "prompt"
        )
    chat: dict[str, Any] = {}
    for name in _SAME:
        if body.get(name) is not None:
            chat[name] = body[name]
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        messages.extend(input_to_messages(instructions, "instructions"))
    elif instructions is not None:
        raise _bad("'instructions' must be a string or a list of input items.", "instructions")
    if history:
        messages.extend(input_to_messages(history, "previous_response_id"))
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        messages.append({"role": "user", "content": raw_input})
    elif isinstance(raw_input, list):
        messages.extend(input_to_messages(raw_input, "input"))
    elif raw_input is not None:
        raise _bad("'input' must be a string or a list of input items.", "input")
    if not messages:
        raise _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    chat["messages"] = messages
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("'tools' must be an array.", "tools")
        functions = [
            function for i, tool in enumerate(tools) for function in _tools(tool, f"tools[{i}]")
        ]
        if functions:
            chat["tools"] = functions
    choice = body.get("tool_choice")
    if choice is not None:
        chat["tool_choice"] = _tool_choice(choice)
    if "tools" not in chat:
        # Nothing left to call (none offered, or only built-ins): chat refuses these.
        chat.pop("parallel_tool_calls", None)
        if chat.get("tool_choice") != "none":
            chat.pop("tool_choice", None)
    text = body.get("text")
    if isinstance(text, dict):
        fmt = text.get("format")
        if fmt is not None:
            response_format = _text_format(fmt)
            if response_format is not None:
                chat["response_format"] = response_format
        if text.get("verbosity") is not None:
            chat["verbosity"] = text["verbosity"]
    elif text is not None:
        raise _bad("'text' must be an object.", "text")
    limit = body.get("max_output_tokens")
    if limit is not None:
        chat["max_completion_tokens"] = limit
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    # Unknown fields travel on, as on chat (providers that accept them use them).
    for name, value in body.items():
        if name not in _KNOWN and name not in chat:
            chat[name] = value
    return chat


def input_to_messages(items: list[Any], param: str) -> list[dict[str, Any]]:
    """Responses input items as chat messages: consecutive ``function_call`` items
    become one assistant message's ``tool_calls``, outputs become ``tool`` messages."""
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"{param}[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"Invalid value for '{where}': expected an object.", where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            call = _function_call(item, where)
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last is not None and last["role"] == "assistant" and last.get("content"):
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _bad(
                    f"Missing required parameter: '{where}.call_id'.",
                    f"{where}.call_id",
                    "missing_required_parameter",
                )
            output = item.get("output")
            if isinstance(output, list):
                content: Any = _parts(output, f"{where}.output", "user")
            elif isinstance(output, str):
                content = output
            else:
                raise _bad(
                    f"Invalid value for '{where}.output': expected a string or an "
                    "array of content parts.",
                    f"{where}.output",
                )
            messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
        elif kind == "reasoning":
            continue  # a chat upstream cannot take reasoning back
        elif kind == "item_reference":
            raise _bad(
                f"'{where}': item references are not supported by this gateway; "
                "send the item itself.",
                f"{where}.type",
            )
        elif isinstance(kind, str):
            raise _bad(
                f"Invalid value for '{where}.type': '{kind}' is not supported for this model.",
                f"{where}.type",
            )
        else:
            raise _bad(
                f"Missing required parameter: '{where}.type'.",
                f"{where}.type",
                "missing_required_parameter",
            )
    return messages


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in _ROLES:
        raise _bad(
            f"Invalid value for '{where}.role': expected one of 'user', 'assistant', "
            "'system' or 'developer'.",
            f"{where}.role",
        )
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise _bad(
            f"Invalid value for '{where}.content': expected a string or an array of content parts.",
            f"{where}.content",
        )
    parts = _parts(content, f"{where}.content", role)
    if role == "assistant":
        refusal = [p for p in content if isinstance(p, dict) and p.get("type") == "refusal"]
        text = "".join(p["text"] for p in parts if p.get("type") == "text")
        message: dict[str, Any] = {"role": role, "content": text or None}
        if refusal and not text:
            message["refusal"] = str(refusal[0].get("refusal", ""))
        return message
    if role in ("system", "developer") and all(p["type"] == "text" for p in parts):
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _parts(parts: list[Any], where: str, role: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, part in enumerate(parts):
        at = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise _bad(
                    f"Missing required parameter: '{at}.text'.",
                    f"{at}.text",
                    "missing_required_parameter",
                )
            out.append({"type": "text", "text": text})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise _bad(
                    f"'{at}': only images given by 'image_url' are supported for this model.",
                    f"{at}.image_url",
                )
            image: dict[str, Any] = {"url": url}
            if part.get("detail") in ("auto", "low", "high"):
                image["detail"] = part["detail"]
            out.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            file = {k: part[k] for k in ("file_id", "file_data", "filename") if k in part}
            out.append({"type": "file", "file": file})
        elif kind == "refusal" and role == "assistant":
            continue
        elif isinstance(kind, str):
            raise _bad(
                f"Invalid value for '{at}.type': '{kind}' is not a supported content part here.",
                f"{at}.type",
            )
        else:
            raise _bad(f"Invalid value for '{at}': expected a content part object.", at)
    return out


def _function_call(item: dict[str, Any], where: str) -> dict[str, Any]:
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str):
            raise _bad(
                f"Missing required parameter: '{where}.{name}'.",
                f"{where}.{name}",
                "missing_required_parameter",
            )
    return {
        "id": item["call_id"],
        "type": "function",
        "function": {"name": item["name"], "arguments": item["arguments"]},
    }


def _tools(tool: Any, where: str) -> list[dict[str, Any]]:
    """A Responses tool as chat function tools: a ``namespace`` is flattened; the
    provider's built-in tools (which only OpenAI can run) are not offered to a chat
    upstream, so the model answers without them, as it would had the client not
    offered them (Codex CLI offers ``web_search`` to every model)."""
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind in BUILT_IN_TOOLS:
        return []
    if kind == "namespace":
        inner = tool.get("tools")
        if not isinstance(inner, list):
            raise _bad(
                f"Missing required parameter: '{where}.tools'.",
                f"{where}.tools",
                "missing_required_parameter",
            )
        return [f for j, t in enumerate(inner) for f in _tools(t, f"{where}.tools[{j}]")]
    return [_tool(tool, where)]


# Tools the provider runs itself (OpenAI's built-ins): nothing a chat upstream can run.
BUILT_IN_TOOLS = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_preview_2025_03_11",
        "web_search_2025_08_26",
        "file_search",
        "code_interpreter",
        "image_generation",
        "computer_use_preview",
        "computer_use",
        "mcp",
        "local_shell",
        "shell",
        "apply_patch",
    }
)


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise _bad(f"Invalid value for '{where}': expected an object.", where)
    kind = tool.get("type")
    if kind != "function":
        raise _bad(
            f"Invalid value for '{where}.type': the tool type '{kind}' is not "
            "supported for this model; only 'function' tools are.",
            f"{where}.type",
        )
    name = tool.get("name")
    if not isinstance(name, str):
        raise _bad(
            f"Missing required parameter: '{where}.name'.",
            f"{where}.name",
            "missing_required_parameter",
        )
    function: dict[str, Any] = {"name": name}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice in ("none", "auto", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if isinstance(name, str):
            return {"type": "function", "function": {"name": name}}
    raise _bad(
        "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
        "{'type': 'function', 'name': ...} for this model.",
        "tool_choice",
    )


def _text_format(fmt: Any) -> dict[str, Any] | None:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        name = fmt.get("name")
        if not isinstance(name, str):
            raise _bad(
                "Missing required parameter: 'text.format.name'.",
                "text.format.name",
                "missing_required_parameter",
            )
        spec = {k: fmt[k] for k in ("name", "description", "schema", "strict") if k in fmt}
        return {"type": "json_schema", "json_schema": spec}
    raise _bad(
        "Invalid value for 'text.format.type': expected 'text', 'json_object' or 'json_schema'.",
        "text.format.type",
    )


# --- response -----------------------------------------------------------------------------


def usage_from_chat(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": _int(prompt_details.get("cached_tokens")),
            "cache_write_tokens": _int(prompt_details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {
            "reasoning_tokens": _int(completion_details.get("reasoning_tokens")),
        },
        "total_tokens": _int(usage.get("total_tokens")) or prompt + completion,
    }


def response_envelope(
    request: dict[str, Any], response_id: str, created_at: int, status: str
) -> dict[str, Any]:
    """A ``Response`` with no output yet: the request's parameters echoed, as OpenAI does."""
    text = request.get("text") if isinstance(request.get("text"), dict) else None
    envelope = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model", ""),
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": request.get("reasoning"),
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": text or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "metadata": request.get("metadata") or {},
    }
    if isinstance(request.get("user"), str):
        envelope["user"] = request["user"]
    return envelope


def _finish(response: dict[str, Any], finish_reason: str | None) -> None:
    if finish_reason == "length":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish_reason == "content_filter":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    else:
        response["status"] = "completed"
        response["completed_at"] = int(time.time())


def chat_to_response(
    chat: dict[str, Any], request: dict[str, Any], response_id: str, created_at: int
) -> dict[str, Any]:
    """The ``Response`` for a chat completion answering ``request`` (a Responses body)."""
    response = response_envelope(request, response_id, created_at, "completed")
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    finish_reason = choice.get("finish_reason")
    item_status = "incomplete" if finish_reason == "length" else "completed"
    content = message.get("content")
    refusal = message.get("refusal")
    output: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        output.append(_reasoning_item(new_id("rs"), reasoning, "completed"))
    if (isinstance(content, str) and content) or refusal:
        parts: list[dict[str, Any]] = []
        if isinstance(content, str) and content:
            parts.append(_text_part(content))
        if refusal:
            parts.append({"type": "refusal", "refusal": str(refusal)})
        output.append(
            {
                "id": new_id("msg"),
                "type": "message",
                "role": "assistant",
                "status": item_status,
                "content": parts,
            }
        )
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(
            _function_item(
                new_id("fc"),
                str(call.get("id") or new_id("call")),
                str(function.get("name", "")),
                str(function.get("arguments") or ""),
                "completed",
            )
        )
    response["output"] = output
    response["usage"] = usage_from_chat(chat.get("usage"))
    _finish(response, finish_reason)
    return response


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "")
        for item in response.get("output") or ()
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if part.get("type") == "output_text"
    )


def output_to_input(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A response's output items as input items for the next turn."""
    items: list[dict[str, Any]] = []
    for item in output:
        if item.get("type") == "message":
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [p for p in item.get("content") or () if isinstance(p, dict)],
                }
            )
        elif item.get("type") == "function_call":
            items.append({k: item[k] for k in ("type", "call_id", "name", "arguments")})
        elif item.get("type") == "reasoning" and item.get("encrypted_content"):
            # A native upstream's encrypted reasoning goes back to it (a chat upstream
            # never gets reasoning items: ``input_to_messages`` drops them).
            keep = ("type", "id", "summary", "encrypted_content")
            items.append({k: item[k] for k in keep if k in item})
    return items


def _reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    """A chat upstream's ``reasoning_content`` (Anthropic thinking, reasoning engines)."""
    return {
        "id": item_id,
        "type": "reasoning",
        "status": status,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _function_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- stream -------------------------------------------------------------------------------


class ResponseStreamTranslator:
    """Chat completion chunks in, ``ResponseStreamEvent`` dicts out, in order.

    ``start()`` once, ``feed(chunk)`` per chat chunk, ``finish()`` once at the end;
    ``response`` is the final ``Response`` after ``finish``.
    """

    def __init__(self, request: dict[str, Any], response_id: str, created_at: int) -> None:
        self.response = response_envelope(request, response_id, created_at, "in_progress")
        self._sequence = 0
        self._output: list[dict[str, Any]] = []
        self._text: dict[str, Any] | None = None  # the open message item
        self._reasoning: dict[str, Any] | None = None  # the open reasoning item
        self._reasoning_index = 0
        self._text_index = 0
        self._calls: dict[int, tuple[int, dict[str, Any]]] = {}  # chat index → (output index, item)
        self._open_calls: list[int] = []
        self._finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        return {**self.response, "output": [dict(item) for item in self._output]}

    def start(self) -> list[dict[str, Any]]:
        return [
            self._event("response.created", response=self._snapshot()),
            self._event("response.in_progress", response=self._snapshot()),
        ]

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("model"), str) and not self.response["model"]:
            self.response["model"] = chunk["model"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content")
            if isinstance(thought, str) and thought:
                events.extend(self._reasoning_delta(thought))
            text = delta.get("content")
            if isinstance(text, str) and text:
                events.extend(self._text_delta(text))
            for call in delta.get("tool_calls") or ():
                events.extend(self._call_delta(call))
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def _reasoning_delta(self, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._reasoning is None:
            events.extend([*self._close_text(), *self._close_calls()])
            self._reasoning_index = len(self._output)
            item = _reasoning_item(new_id("rs"), "", "in_progress")
            self._reasoning = item
            self._output.append(item)
            added = {**item, "content": []}
            events.append(
                self._event(
                    "response.output_item.added", output_index=self._reasoning_index, item=added
                )
            )
        item = self._reasoning
        item["content"][0]["text"] += text
        events.append(
            self._event(
                "response.reasoning_text.delta",
                item_id=item["id"],
                output_index=self._reasoning_index,
                content_index=0,
                delta=text,
            )
        )
        return events

    def _close_reasoning(self) -> list[dict[str, Any]]:
        item = self._reasoning
        if item is None:
            return []
        self._reasoning = None
        item["status"] = "completed"
        return [
            self._event(
                "response.reasoning_text.done",
                item_id=item["id"],
                output_index=self._reasoning_index,
                content_index=0,
                text=item["content"][0]["text"],
            ),
            self._event(
                "response.output_item.done", output_index=self._reasoning_index, item=dict(item)
            ),
        ]

    def _text_delta(self, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._text is None:
            events.extend([*self._close_reasoning(), *self._close_calls()])
            self._text_index = len(self._output)
            item: dict[str, Any] = {
                "id": new_id("msg"),
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            self._text = item
            self._output.append(item)
            events.append(
                self._event(
                    "response.output_item.added", output_index=self._text_index, item=dict(item)
                )
            )
            events.append(
                self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=self._text_index,
                    content_index=0,
                    part=_text_part(""),
                )
            )
            item["content"] = [_text_part("")]
        item = self._text
        item["content"][0]["text"] += text
        events.append(
            self._event(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=self._text_index,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )
        return events

    def _close_text(self) -> list[dict[str, Any]]:
        item = self._text
        if item is None:
            return []
        self._text = None
        part = item["content"][0]
        item["status"] = "incomplete" if self._finish_reason == "length" else "completed"
        common = {"item_id": item["id"], "output_index": self._text_index}
        return [
            self._event(
                "response.output_text.done",
                **common,
                content_index=0,
                text=part["text"],
                logprobs=[],
            ),
            self._event("response.content_part.done", **common, content_index=0, part=dict(part)),
            self._event(
                "response.output_item.done", output_index=self._text_index, item=dict(item)
            ),
        ]

    def _call_delta(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        found = self._calls.get(index)
        if found is None:
            events.extend([*self._close_reasoning(), *self._close_text()])
            output_index = len(self._output)
            item = _function_item(
                new_id("fc"),
                str(call.get("id") or new_id("call")),
                str(function.get("name") or ""),
                "",
                "in_progress",
            )
            self._calls[index] = found = (output_index, item)
            self._open_calls.append(index)
            self._output.append(item)
            events.append(
                self._event(
                    "response.output_item.added", output_index=output_index, item=dict(item)
                )
            )
        output_index, item = found
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item["arguments"] += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=output_index,
                    delta=arguments,
                )
            )
        return events

    def _close_calls(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for index in self._open_calls:
            output_index, item = self._calls[index]
            item["status"] = "completed"
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    name=item["name"],
                    output_index=output_index,
                    arguments=item["arguments"],
                )
            )
            events.append(
                self._event("response.output_item.done", output_index=output_index, item=dict(item))
            )
        self._open_calls = []
        return events

    def finish(self, fallback_usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Close what is open and end with ``response.completed`` / ``.incomplete``."""
        events = [*self._close_reasoning(), *self._close_text(), *self._close_calls()]
        self.response["output"] = self._output
        self.response["usage"] = usage_from_chat(self.usage or fallback_usage)
        _finish(self.response, self._finish_reason)
        kind = (
            "response.completed"
            if self.response["status"] == "completed"
            else ("response.incomplete")
        )
        events.append(self._event(kind, response=self.response))
        return events

    def error(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """An ``error`` event for a failure after the stream started (OpenAI's body)."""
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else body
        return [
            self._event(
                "error",
                code=error.get("code"),
                message=str(error.get("message")),
                param=error.get("param"),
            )
        ]
