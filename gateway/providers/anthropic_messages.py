"""OpenAI chat request → Anthropic Messages request, without I/O (see ``anthropic``).

Kept apart from the translator because it is the larger half and purely a function of
the request body, which makes it easy to test table-driven.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import InvalidRequestError
from gateway.providers.capabilities import Capabilities

_Json = dict[str, Any]


def to_messages(
    body: _Json, model: str, default_max_tokens: int | None, caps: Capabilities | None = None
) -> _Json:
    """The Messages body for ``body``; ``caps`` (default: accept everything) says what
    ``model`` accepts (``policies/capabilities.yaml``). ``max_tokens`` is required
    upstream: the client's, else ``default_max_tokens``, else the model's ceiling."""
    caps = caps or Capabilities()
    _refuse_unsupported(body)
    system: list[_Json] = []
    turns: list[_Json] = []
    for position, message in enumerate(body.get("messages") or ()):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content"), f"messages[{position}].content"))
        elif role == "user":
            _append(turns, "user", _user_blocks(message.get("content"), position))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, position))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message, position)])
        else:
            raise InvalidRequestError(
                f"Role {role!r} is not supported by this model.",
                param=f"messages[{position}].role",
            )
    limit = body.get("max_completion_tokens")
    limit = body.get("max_tokens") if limit is None else limit
    result: _Json = {
        "model": model,
        "max_tokens": limit
        if isinstance(limit, int) and limit > 0
        else (default_max_tokens or caps.max_output_tokens),
        "messages": turns,
    }
    if system:
        plain = all(set(b) == {"type", "text"} for b in system)
        result["system"] = "\n\n".join(b["text"] for b in system) if plain else system
    thinking = _reasoning(body, result, caps, limit_given=result["max_tokens"] == limit)
    _sampling(body, result, caps, thinking)
    _tools(body, result)
    _structured_output(body, result, caps, thinking)
    return result


def _refuse_unsupported(body: _Json) -> None:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        raise _unsupported("n", "Only n=1 is supported by this model.")
    if body.get("logprobs"):
        raise _unsupported("logprobs", "logprobs are not supported by this model.")
    if body.get("audio") or "audio" in (body.get("modalities") or ()):
        raise _unsupported("modalities", "Audio output is not supported by this model.")


def _unsupported(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="unsupported_parameter")


def _append(turns: list[_Json], role: str, blocks: list[_Json]) -> None:
    """Merge consecutive turns of one role; tool results stay ahead of other user
    content, as the API requires right after a ``tool_use``."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        content = turns[-1]["content"]
        results = [b for b in blocks if b.get("type") == "tool_result"]
        others = [b for b in blocks if b.get("type") != "tool_result"]
        split = sum(1 for b in content if b.get("type") == "tool_result")
        content[split:split] = results
        content.extend(others)
    else:
        turns.append({"role": role, "content": blocks})


def _text_blocks(content: object, where: str) -> list[_Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[_Json] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") == "text":
            blocks.append(_with_cache_control({"type": "text", "text": part["text"]}, part))
        elif isinstance(part, dict):
            raise InvalidRequestError(
                f"Content of type {part.get('type')!r} is not allowed here.", param=where
            )
    return blocks


def _user_blocks(content: object, position: int) -> list[_Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[_Json] = []
    for index, part in enumerate(content if isinstance(content, list) else ()):
        where = f"messages[{position}].content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append(_with_cache_control({"type": "text", "text": part["text"]}, part))
        elif kind == "image_url":
            blocks.append(_with_cache_control(_image(part.get("image_url"), where), part))
        else:
            raise InvalidRequestError(
                f"Content of type {kind!r} is not supported by this model.",
                param=where,
                code="unsupported_content",
            )
    return blocks


def _image(image_url: object, where: str) -> _Json:
    url = image_url.get("url") if isinstance(image_url, dict) else None
    if not isinstance(url, str):
        raise InvalidRequestError("image_url.url is required.", param=where)
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0]
        if not data or ";base64" not in header:
            raise InvalidRequestError("Image data URLs must be base64 encoded.", param=where)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                            "data": data}}  # fmt: skip
    return {"type": "image", "source": {"type": "url", "url": url}}


def _assistant_blocks(message: _Json, position: int) -> list[_Json]:
    """Thinking blocks first (``thinking_blocks``, as the gateway returned them: the
    signature must come back for tool use with thinking), then text and tool calls."""
    blocks = _thinking_blocks(message.get("thinking_blocks"))
    blocks += _text_blocks(message.get("content"), f"messages[{position}].content")
    for index, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            parsed = json.loads(arguments)
        except ValueError:
            raise InvalidRequestError(
                "Tool call arguments must be a JSON object.",
                param=f"messages[{position}].tool_calls[{index}].function.arguments",
            ) from None
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": parsed if isinstance(parsed, dict) else {"value": parsed},
            }
        )
    return blocks


def _thinking_blocks(given: object) -> list[_Json]:
    blocks: list[_Json] = []
    for block in given if isinstance(given, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking" and isinstance(block.get("signature"), str):
            blocks.append(
                {"type": "thinking", "thinking": block.get("thinking") or "",
                 "signature": block["signature"]}
            )  # fmt: skip
        elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
            blocks.append({"type": "redacted_thinking", "data": block["data"]})
    return blocks


def _tool_result(message: _Json, position: int) -> _Json:
    content = message.get("content")
    block: _Json = {"type": "tool_result", "tool_use_id": message.get("tool_call_id")}
    if isinstance(content, str):
        block["content"] = content
    else:
        block["content"] = _text_blocks(content, f"messages[{position}].content")
    return block


def _with_cache_control(block: _Json, part: _Json) -> _Json:
    # Prompt-caching breakpoints, for clients that add Anthropic's marker to parts.
    if isinstance(part.get("cache_control"), dict):
        block["cache_control"] = part["cache_control"]
    return block


# The forced tool whose input is a structured answer (``structured_outputs: tool``).
STRUCTURED_TOOL = "json_response"


def _structured_output(body: _Json, result: _Json, caps: Capabilities, thinking: bool) -> None:
    """``response_format: json_schema`` natively (``output_config.format``) where the
    model has structured outputs, else as a forced tool call whose input is the answer
    (the translator turns it back into content); a system instruction where neither
    fits: ``json_object`` (no schema), models marked ``prompt``, and requests that
    bring their own tools or think (a forced tool would exclude both).
    https://docs.claude.com/en/docs/build-with-claude/structured-outputs"""
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if isinstance(schema, dict) and kind == "json_schema":
        if caps.structured_outputs == "native":
            config = result.setdefault("output_config", {})
            config["format"] = {"type": "json_schema", "schema": schema}
            return
        if caps.structured_outputs == "tool" and "tools" not in result and not thinking:
            result["tools"] = [
                {
                    "name": STRUCTURED_TOOL,
                    "description": "Give the answer as this tool's input.",
                    "input_schema": schema,
                }
            ]
            result["tool_choice"] = {"type": "tool", "name": STRUCTURED_TOOL}
            return
    instruction = _format_instruction(response_format)
    if instruction:
        system = result.get("system")
        if isinstance(system, list):
            system.append({"type": "text", "text": instruction})
        else:
            result["system"] = f"{system}\n\n{instruction}" if system else instruction


def _format_instruction(response_format: object) -> str | None:
    if not isinstance(response_format, dict):
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return "Respond with a single valid JSON object and nothing else."
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return (
            "Respond with a single JSON value that validates against this JSON Schema, "
            f"and nothing else: {json.dumps(schema, separators=(',', ':'))}"
        )
    return None


# reasoning_effort → thinking budget (models with budgets) or output_config.effort
# (adaptive models). 1024 is the API's minimum budget.
_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768}
_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "max"}


def _reasoning(body: _Json, result: _Json, caps: Capabilities, *, limit_given: bool) -> bool:
    """Extended thinking from ``thinking`` / ``output_config`` (Anthropic's own, via
    ``extra_body``: sent as given) or OpenAI's ``reasoning_effort`` (mapped per the
    model's ``reasoning`` capability). Models without thinking get neither (dropped,
    like ``reasoning_effort`` on OpenAI's non-reasoning models). Whether thinking is on.
    https://docs.claude.com/en/docs/build-with-claude/extended-thinking"""
    config = body.get("output_config")
    output_config: _Json = dict(config) if isinstance(config, dict) else {}
    thinking = body.get("thinking")
    effort = body.get("reasoning_effort")
    if caps.reasoning == "none":
        output_config.pop("effort", None)
    elif isinstance(thinking, dict):
        result["thinking"] = thinking
    elif isinstance(effort, str) and effort in _BUDGETS:
        if caps.reasoning == "adaptive":
            result["thinking"] = {"type": "adaptive"}
            output_config.setdefault("effort", _EFFORTS[effort])
        else:
            budget = _BUDGETS[effort]
            if not limit_given:  # the default is for the answer: make room for thinking
                ceiling = max(caps.max_output_tokens, result["max_tokens"])
                result["max_tokens"] = min(result["max_tokens"] + budget, ceiling)
            budget = min(budget, result["max_tokens"] - 1)
            if budget < 1024:
                raise InvalidRequestError(
                    "Reasoning on this model needs max_completion_tokens above 1024 "
                    "(its minimum thinking budget).",
                    param="max_completion_tokens",
                )
            result["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if output_config:
        result["output_config"] = output_config
    kind = (result.get("thinking") or {}).get("type")
    return kind in ("enabled", "adaptive")


def _sampling(body: _Json, result: _Json, caps: Capabilities, thinking: bool = False) -> None:
    """Sampling knobs the model accepts: recent models reject ``temperature`` and
    (from Claude 4.5) ``temperature`` together with ``top_p``; both are dropped, not
    refused, as the model then samples with its own fixed settings. Thinking allows no
    ``temperature`` but 1, no ``top_k`` and ``top_p`` only from 0.95: others dropped."""
    sampling: _Json = {}
    temperature = body.get("temperature")
    if isinstance(temperature, int | float):
        sampling["temperature"] = min(float(temperature), 1.0)
    for name in ("top_p", "top_k"):  # top_k: Anthropic's own, via extra_body
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            sampling[name] = value
    if thinking:
        sampling.pop("temperature", None)
        sampling.pop("top_k", None)
        if sampling.get("top_p", 1) < 0.95:
            del sampling["top_p"]
    result.update(caps.sendable(sampling))
    stop = body.get("stop")
    if isinstance(stop, str):
        result["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        result["stop_sequences"] = [s for s in stop if isinstance(s, str)]
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        result["metadata"] = {"user_id": user}


def _tools(body: _Json, result: _Json) -> None:
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        result["tools"] = [_tool(t) for t in tools if isinstance(t, dict)]
    choice = body.get("tool_choice")
    mapped: _Json | None = None
    if choice == "auto":
        mapped = {"type": "auto"}
    elif choice == "required":
        mapped = {"type": "any"}
    elif choice == "none":
        mapped = {"type": "none"}
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        mapped = {"type": "tool", "name": name}
    if body.get("parallel_tool_calls") is False and "tools" in result:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    if mapped is not None and "tools" in result:
        result["tool_choice"] = mapped


def _tool(tool: _Json) -> _Json:
    function = tool.get("function") or {}
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    converted: _Json = {"name": function.get("name"), "input_schema": schema}
    if function.get("description"):
        converted["description"] = function["description"]
    return converted
