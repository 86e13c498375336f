"""Typed views of OpenAI request bodies, used to validate what clients send.

The body forwarded upstream is the client's own JSON object (unknown fields kept for
providers that accept them); these Structs only decide whether it is well formed and
give errors that name the parameter. Fields follow OpenAI's OpenAPI description.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from gateway.errors import InvalidRequestError


class _Loose(Struct, kw_only=True, forbid_unknown_fields=False):
    pass


# --- messages ---------------------------------------------------------------------------


class TextPart(_Loose, tag_field="type", tag="text", kw_only=True):
    text: str


class ImageURL(_Loose, kw_only=True):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Loose, tag_field="type", tag="image_url", kw_only=True):
    image_url: ImageURL


class AudioPart(_Loose, tag_field="type", tag="input_audio", kw_only=True):
    input_audio: dict[str, Any]


class FilePart(_Loose, tag_field="type", tag="file", kw_only=True):
    file: dict[str, Any]


class RefusalPart(_Loose, tag_field="type", tag="refusal", kw_only=True):
    refusal: str


ContentPart = TextPart | ImagePart | AudioPart | FilePart | RefusalPart
Content = str | list[ContentPart]


class FunctionCall(_Loose, kw_only=True):
    name: str
    arguments: str


class ToolCall(_Loose, kw_only=True):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class SystemMessage(_Loose, tag_field="role", tag="system", kw_only=True):
    content: Content
    name: str | None = None


class DeveloperMessage(_Loose, tag_field="role", tag="developer", kw_only=True):
    content: Content
    name: str | None = None


class UserMessage(_Loose, tag_field="role", tag="user", kw_only=True):
    content: Content
    name: str | None = None


class AssistantMessage(_Loose, tag_field="role", tag="assistant", kw_only=True):
    content: Content | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None


class ToolMessage(_Loose, tag_field="role", tag="tool", kw_only=True):
    content: Content
    tool_call_id: str


class FunctionMessage(_Loose, tag_field="role", tag="function", kw_only=True):
    content: str | None
    name: str


Message = (
    SystemMessage
    | DeveloperMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | FunctionMessage
)

# --- tools and formats ------------------------------------------------------------------

FunctionName = Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class FunctionDefinition(_Loose, kw_only=True):
    name: FunctionName
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Loose, kw_only=True):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Loose, kw_only=True):
    name: str


class NamedToolChoice(_Loose, kw_only=True):
    type: Literal["function"]
    function: NamedFunction


class TextFormat(_Loose, tag_field="type", tag="text", kw_only=True):
    pass


class JsonObjectFormat(_Loose, tag_field="type", tag="json_object", kw_only=True):
    pass


class JsonSchemaSpec(_Loose, kw_only=True):
    name: FunctionName
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class JsonSchemaFormat(_Loose, tag_field="type", tag="json_schema", kw_only=True):
    json_schema: JsonSchemaSpec


ResponseFormat = TextFormat | JsonObjectFormat | JsonSchemaFormat


class StreamOptions(_Loose, kw_only=True):
    include_usage: bool | None = None


# --- endpoints --------------------------------------------------------------------------

Temperature = Annotated[float, Meta(ge=0, le=2)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
TopP = Annotated[float, Meta(ge=0, le=1)]
Count = Annotated[int, Meta(ge=1, le=128)]
TokenLimit = Annotated[int, Meta(ge=1)]
ModelName = Annotated[str, Meta(min_length=1, max_length=256)]
Stop = str | Annotated[list[str], Meta(max_length=4)]


class _Generation(_Loose, kw_only=True):
    """Parameters shared by chat and legacy completions."""

    model: ModelName
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    n: Count | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: TokenLimit | None = None
    stop: Stop | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Meta(ge=-100, le=100)]] | None = None
    seed: int | None = None
    user: str | None = None


class ChatCompletionRequest(_Generation, kw_only=True):
    messages: Annotated[list[Message], Meta(min_length=1)]
    max_completion_tokens: TokenLimit | None = None
    tools: Annotated[list[Tool], Meta(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None


# A prompt or embedding input: text, texts, token ids, or lists of token ids.
TokenId = Annotated[int, Meta(ge=0)]
Inputs = list[str | TokenId | list[TokenId]]


class CompletionRequest(_Generation, kw_only=True):
    prompt: str | Inputs
    echo: bool | None = None
    suffix: str | None = None
    best_of: Count | None = None
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None


class EmbeddingRequest(_Loose, kw_only=True):
    model: ModelName
    input: str | Annotated[Inputs, Meta(min_length=1, max_length=2048)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None


EndpointRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest

_decoder = msgspec.json.Decoder()
T = TypeVar("T", ChatCompletionRequest, CompletionRequest, EmbeddingRequest)
# Deeper than any real request; far below the interpreter's recursion limit, which a
# client must never be able to reach (RecursionError is not a client error).
DEFAULT_MAX_DEPTH = 64
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you "
    "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
)


def decode_object(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """Decode a client's JSON object: malformed bytes (invalid UTF-8, NaN, numbers out
    of range, lone surrogates), non-objects and nesting beyond ``max_depth`` are 400s."""
    try:
        data = _decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise InvalidRequestError(_BAD_JSON, code="invalid_json") from None
    except RecursionError:  # nested far beyond max_depth
        raise _too_deep(max_depth) from None
    if not isinstance(data, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    if _nested_deeper(body, data, max_depth):
        raise _too_deep(max_depth)
    return data


def decode_body(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """Decode the raw JSON object; the dict is what providers receive."""
    if not body:
        raise InvalidRequestError("The request body is empty; expected a JSON object.")
    return decode_object(body, max_depth)


def _too_deep(limit: int) -> InvalidRequestError:
    return InvalidRequestError(
        f"The JSON body is nested more than {limit} levels deep.", code="invalid_json"
    )


def _nested_deeper(body: bytes, data: dict[str, Any], limit: int) -> bool:
    # Counting brackets is C-fast and settles nearly every body; only a body with more
    # opening brackets than the limit gets the exact walk (iterative: no recursion).
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def validate(data: dict[str, Any], request_type: type[T]) -> T:
    """Check ``data`` against the endpoint's schema; errors name the parameter."""
    try:
        request = msgspec.convert(data, request_type)
    except msgspec.ValidationError as exc:
        raise _parameter_error(str(exc)) from None
    _check_semantics(request)
    return request


def _check_semantics(request: EndpointRequest) -> None:
    if isinstance(request, EmbeddingRequest):
        if isinstance(request.input, str) and not request.input:
            raise InvalidRequestError("'input' must not be empty.", param="input")
        return
    if request.stream_options is not None and not request.stream:
        raise InvalidRequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if isinstance(request, CompletionRequest):
        if isinstance(request.prompt, list) and not request.prompt:
            raise InvalidRequestError("'prompt' must not be an empty array.", param="prompt")
        return
    if request.tool_choice is not None and request.tool_choice != "none" and not request.tools:
        raise InvalidRequestError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            param="tool_choice",
        )


def _parameter_error(message: str) -> InvalidRequestError:
    """Turn ``Expected `str`, got `int` - at `$.messages[0].content``` into OpenAI's style."""
    problem, _, where = message.partition(" - at `$")
    param = where.rstrip("`").lstrip(".") or None
    if problem.startswith("Object missing required field"):
        field = problem.split("`")[1]
        param = f"{param}.{field}" if param else field
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    where_text = f" for '{param}'" if param else ""
    return InvalidRequestError(
        f"Invalid value{where_text}: {problem}.", param=param, code="invalid_value"
    )
