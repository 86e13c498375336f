"""Anthropic's Messages API (as a client sends it) ⇄ chat completions: pure functions.

The other direction of ``anthropic_messages`` (which sends chat requests to Anthropic
upstreams): a client speaking Messages is translated into the neutral chat request
(``request_to_chat``), and the chat answer back into a Messages ``message``
(``chat_to_message``) or its event stream (``MessageStreamTranslator``:
``message_start``, per block ``content_block_start`` → ``content_block_delta``… →
``content_block_stop``, then ``message_delta`` with the stop reason and usage, and
``message_stop``). Errors use Anthropic's shape (``error_body``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from gateway.errors import InvalidRequestError

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
# HTTP status → Anthropic's error type (https://docs.anthropic.com/en/api/errors).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
    503: "overloaded_error",
}


def new_id(prefix: str = "msg") -> str:
    return f"{prefix}_{os.urandom(12).hex()}"


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _bad(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="invalid_value")


# --- request ------------------------------------------------------------------------------


def request_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model: Field required", "model")
    limit = body.get("max_tokens")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise _bad("max_tokens: Field required (a positive integer)", "max_tokens")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise _bad("messages: Field required (a non-empty array)", "messages")
    chat: dict[str, Any] = {"model": model, "max_completion_tokens": limit}
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str):
        if system:
            messages.append({"role": "system", "content": system})
    elif isinstance(system, list):
        text = "\n\n".join(_block_text(b, f"system.{i}") for i, b in enumerate(system))
        messages.append({"role": "system", "content": text})
    elif system is not None:
        raise _bad("system: Input should be a string or an array of text blocks", "system")
    for i, message in enumerate(raw_messages):
        messages.extend(_message(message, f"messages.{i}"))
    chat["messages"] = messages
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = body[name]
    stops = body.get("stop_sequences")
    if stops:
        chat["stop"] = stops
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise _bad("tools: Input should be an array", "tools")
        functions = [f for i, t in enumerate(tools) if (f := _tool(t, f"tools.{i}")) is not None]
        if functions:
            chat["tools"] = functions
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "auto":
            chat["tool_choice"] = "auto"
        elif kind == "any":
            chat["tool_choice"] = "required"
        elif kind == "none":
            chat["tool_choice"] = "none"
        elif kind == "tool" and isinstance(choice.get("name"), str):
            chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        else:
            raise _bad("tool_choice: expected type auto, any, tool or none", "tool_choice")
        if choice.get("disable_parallel_tool_use") and tools:
            chat["parallel_tool_calls"] = False
    elif choice is not None:
        raise _bad("tool_choice: Input should be an object", "tool_choice")
    if "tools" not in chat and chat.get("tool_choice") != "none":
        # Only server tools were offered: nothing a chat upstream can call.
        chat.pop("tool_choice", None)
        chat.pop("parallel_tool_calls", None)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) else 4096
        chat["reasoning_effort"] = "low" if budget <= 2048 else (
            "medium" if budget <= 8192 else "high")  # fmt: skip
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        chat["user"] = metadata["user_id"]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _block_text(block: Any, where: str) -> str:
    if (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    ):
        return str(block["text"])
    raise _bad(f"{where}: expected a text block", where)


def _message(message: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(message, dict):
        raise _bad(f"{where}: Input should be an object", where)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise _bad(f"{where}.role: Input should be 'user' or 'assistant'", f"{where}.role")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise _bad(
            f"{where}.content: Input should be a string or an array of blocks", f"{where}.content"
        )
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        at = f"{where}.content.{j}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": _block_text(block, at)})
        elif kind == "image" and role == "user":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block, at)}})
        elif kind == "tool_use" and role == "assistant":
            assert isinstance(block, dict)
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise _bad(f"{at}: tool_use needs 'id' and 'name'", at)
            arguments = json.dumps(block.get("input") or {}, separators=(",", ":"))
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": arguments},
                }
            )
        elif kind == "tool_result" and role == "user":
            assert isinstance(block, dict)
            if not isinstance(block.get("tool_use_id"), str):
                raise _bad(f"{at}.tool_use_id: Field required", f"{at}.tool_use_id")
            result = block.get("content", "")
            if isinstance(result, list):
                result = "".join(b.get("text", "") for b in result if isinstance(b, dict))
            elif not isinstance(result, str):
                raise _bad(f"{at}.content: Input should be a string or blocks", f"{at}.content")
            if block.get("is_error"):
                result = f"Error: {result}"
            out.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": result})
        elif role == "assistant" and isinstance(kind, str) and _server_block(kind):
            continue  # a server tool's call and result: the provider's, not the client's
        elif kind in ("thinking", "redacted_thinking"):
            assert isinstance(block, dict)
            # Signed blocks go back (Anthropic checks them in tool use with thinking);
            # unsigned ones came from another upstream's reasoning and are dropped.
            if role == "assistant" and (block.get("signature") or block.get("data")):
                thinking.append(block)
        elif isinstance(kind, str):
            raise _bad(f"{at}.type: '{kind}' is not supported here", f"{at}.type")
        else:
            raise _bad(f"{at}: Input should be a content block object", at)
    if role == "assistant":
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            assistant["tool_calls"] = calls
        if thinking:
            assistant["thinking_blocks"] = thinking
        return [assistant]
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _server_block(kind: str) -> bool:
    return kind == "server_tool_use" or (kind.endswith("_tool_result") and kind != "tool_result")


def _image_url(block: dict[str, Any], where: str) -> str:
    source = block.get("source")
    if isinstance(source, dict):
        if source.get("type") == "base64":
            return f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return str(source["url"])
    raise _bad(f"{where}.source: expected a base64 or url image source", f"{where}.source")


def _tool(tool: Any, where: str) -> dict[str, Any] | None:
    """A client tool as a chat function; None for a server tool (``web_search_…``,
    ``code_execution_…``: Anthropic runs them itself, natively; a chat upstream cannot,
    so the model answers without them, as on the Responses surface)."""
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
        raise _bad(f"{where}.name: Field required", f"{where}.name")
    if tool.get("type") not in (None, "custom"):
        return None
    function: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


# --- response -----------------------------------------------------------------------------


def usage_from_chat(usage: Any) -> dict[str, Any]:
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details") or {}
    cached = _int(details.get("cached_tokens"))
    written = _int(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(0, _int(usage.get("prompt_tokens")) - cached - written),
        "output_tokens": _int(usage.get("completion_tokens")),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": written,
    }


def chat_to_message(chat: dict[str, Any], model: str) -> dict[str, Any]:
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = _thinking(message)
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or new_id("toolu")),
                "name": str(function.get("name", "")),
                "input": _arguments(function.get("arguments")),
            }
        )
    return {
        "id": new_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _STOP.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": usage_from_chat(chat.get("usage")),
    }


def _thinking(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Thinking blocks: Anthropic's own (signed) when the upstream was Anthropic, else
    the upstream's ``reasoning_content`` as one unsigned block."""
    blocks = [
        b for b in message.get("thinking_blocks") or ()
        if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
    ]  # fmt: skip
    if blocks:
        return [dict(b) for b in blocks]
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        return [{"type": "thinking", "thinking": reasoning, "signature": ""}]
    return []


def _arguments(raw: Any) -> Any:
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- stream -------------------------------------------------------------------------------


class MessageStreamTranslator:
    """Chat chunks in, Messages stream events out (``start``, ``feed``…, ``finish``)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._index = -1
        self._open: str | None = None  # "thinking", "text" or "tool:<chat index>"
        self._stop: str | None = None
        self.usage: dict[str, Any] | None = None

    def start(self) -> list[dict[str, Any]]:
        message: dict[str, Any] = {
            "id": new_id(),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}]

    def _close(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        self._open = None
        return [{"type": "content_block_stop", "index": self._index}]

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content")
            if isinstance(thought, str) and thought:
                if self._open != "thinking":
                    events.extend(self._close())
                    self._index += 1
                    self._open = "thinking"
                    events.append(
                        {
                            "type": "content_block_start",
                            "index": self._index,
                            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                        }
                    )
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {"type": "thinking_delta", "thinking": thought},
                    }
                )
            for block in delta.get("thinking_blocks") or ():
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "thinking" and self._open == "thinking":
                    events.append(
                        {
                            "type": "content_block_delta",
                            "index": self._index,
                            "delta": {
                                "type": "signature_delta",
                                "signature": str(block.get("signature", "")),
                            },
                        }
                    )
                    events.extend(self._close())
                elif block.get("type") == "redacted_thinking":
                    events.extend(self._close())
                    self._index += 1
                    events.append(
                        {
                            "type": "content_block_start",
                            "index": self._index,
                            "content_block": dict(block),
                        }
                    )
                    events.append({"type": "content_block_stop", "index": self._index})
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._open != "text":
                    events.extend(self._close())
                    self._index += 1
                    self._open = "text"
                    events.append(
                        {
                            "type": "content_block_start",
                            "index": self._index,
                            "content_block": {"type": "text", "text": ""},
                        }
                    )
                events.append(
                    {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {"type": "text_delta", "text": text},
                    }
                )
            for call in delta.get("tool_calls") or ():
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self._open != key:
                    events.extend(self._close())
                    self._index += 1
                    self._open = key
                    block = {
                        "type": "tool_use",
                        "id": str(call.get("id") or new_id("toolu")),
                        "name": str(function.get("name") or ""),
                        "input": {},
                    }
                    events.append(
                        {
                            "type": "content_block_start",
                            "index": self._index,
                            "content_block": block,
                        }
                    )
                arguments = function.get("arguments")
                if isinstance(arguments, str) and arguments:
                    events.append(
                        {
                            "type": "content_block_delta",
                            "index": self._index,
                            "delta": {"type": "input_json_delta", "partial_json": arguments},
                        }
                    )
            if choice.get("finish_reason"):
                self._stop = _STOP.get(choice["finish_reason"], "end_turn")
        return events

    def finish(self, fallback_usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        usage = usage_from_chat(self.usage or fallback_usage)
        return [
            *self._close(),
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop or "end_turn", "stop_sequence": None},
                "usage": usage,
            },
            {"type": "message_stop"},
        ]
