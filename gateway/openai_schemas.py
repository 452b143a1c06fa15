"""The OpenAI routes as the OpenAPI document describes them: bodies, answers, errors.

The routes read a raw request on purpose (:mod:`gateway.validation` decodes it with a depth limit
and forwards the whole decoded object, unknown SGLang fields included), so Litestar cannot infer
their request schema. These Structs only *describe* the wire format; nothing here decodes a
request. The request body goes into the document through an ``operation_class``, the answers and
errors through the route decorators' ``responses``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
)

from gateway.validation import ResponseFormatType, Role, ToolChoiceWord, ToolType

SSE_MEDIA_TYPE = "text/event-stream"

# ----------------------------------------------------------------------------- request bodies


class TextPart(msgspec.Struct, frozen=True):
    """A content part. Only ``text`` parts are accepted: other parts cannot be scanned for
    personal data and are refused with 400."""

    type: Literal["text"]
    text: str


class FunctionCall(msgspec.Struct, frozen=True):
    """The function an assistant message called."""

    name: str | None = None
    arguments: Annotated[str | None, msgspec.Meta(description="JSON text; scanned like content.")] = None


class ToolCall(msgspec.Struct, frozen=True):
    """A tool call of an earlier assistant message."""

    id: str | None = None
    type: ToolType | None = None
    function: FunctionCall | None = None


class ChatMessage(msgspec.Struct, frozen=True):
    """One message of the conversation; its text is redacted before the model sees it."""

    role: Role
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


class StreamOptions(msgspec.Struct, frozen=True):
    """Streaming options. The usage chunk is only sent back when asked for."""

    include_usage: bool | None = None


class FunctionDefinition(msgspec.Struct, frozen=True):
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolDefinition(msgspec.Struct, frozen=True):
    """A tool the model may call."""

    type: ToolType
    function: FunctionDefinition


class NamedToolChoice(msgspec.Struct, frozen=True):
    """Force a call of one named function."""

    type: ToolType
    function: dict[str, Any]


class ResponseFormat(msgspec.Struct, frozen=True):
    """The shape the answer must take."""

    type: ResponseFormatType
    json_schema: dict[str, Any] | None = None


_MODEL = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=256,
        description="A model the engine serves, or a site alias of one, that the caller's role "
        "may use. Unknown: 404 model_not_found; not allowed: 403 model_not_allowed.",
    ),
]
_STREAM = Annotated[
    bool,
    msgspec.Meta(description="true: the answer comes as server-sent events (text/event-stream)."),
]
_N = Annotated[int, msgspec.Meta(ge=1, le=16, description="Number of choices.")]


class ChatCompletionRequest(msgspec.Struct, frozen=True):
    """A chat completion request. Fields not listed here are forwarded to the engine unchanged
    (after their text is scanned)."""

    model: _MODEL
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    stream: _STREAM = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0)] | None = None
    top_p: float | None = None
    n: _N = 1
    stop: str | list[str] | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoiceWord | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None


class CompletionRequest(msgspec.Struct, frozen=True):
    """A text completion request. Fields not listed here are forwarded to the engine unchanged
    (after their text is scanned)."""

    model: _MODEL
    prompt: str | list[str]
    stream: _STREAM = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0)] | None = None
    top_p: float | None = None
    n: _N = 1
    stop: str | list[str] | None = None
    response_format: ResponseFormat | None = None


# ----------------------------------------------------------------------------- answers


class Usage(msgspec.Struct, frozen=True):
    """Token counts (also what the token quotas count)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(msgspec.Struct, frozen=True):
    """The answer, after the output filter."""

    role: Literal["assistant"]
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(msgspec.Struct, frozen=True):
    """One choice of a chat completion."""

    index: int
    message: AssistantMessage
    finish_reason: str | None = None


class ChatCompletion(msgspec.Struct, frozen=True):
    """A chat completion (``stream`` false)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None


class TextChoice(msgspec.Struct, frozen=True):
    """One choice of a text completion."""

    index: int
    text: str
    finish_reason: str | None = None


class TextCompletion(msgspec.Struct, frozen=True):
    """A text completion (``stream`` false)."""

    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage | None = None


class ModelCard(msgspec.Struct, frozen=True):
    """A model the caller may use (a site alias is listed under its own id)."""

    id: str
    object: Literal["model"]
    created: int | None = None
    owned_by: str | None = None


class ModelList(msgspec.Struct, frozen=True):
    """The models the caller's roles and key may use."""

    object: Literal["list"]
    data: list[ModelCard]


class OpenAIErrorDetail(msgspec.Struct, frozen=True):
    """What went wrong; never the request's or the answer's text."""

    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(msgspec.Struct, frozen=True):
    """Every error answer, in the OpenAI error shape."""

    error: OpenAIErrorDetail


# ----------------------------------------------------------------------------- responses

_PIPELINE = (
    "Needs `Authorization: Bearer` with an API key or a JWT whose roles grant `{permission}` and "
    "allow the model. The gateway then checks the body, applies the caller's rate limits and "
    "token quotas, screens for prompt injection, redacts personal data in every text field "
    "(per the role's PII profile), and commits a request audit record before the engine sees "
    "anything. The answer passes the output filter (content and secret rules) and its audit "
    "record is committed before it is returned. `X-Data-Subject` names the person the request "
    "is about (recorded in the audit log; required by roles with `require_subject`). With "
    "`stream: true` the answer is `text/event-stream`. Fields not described here are forwarded "
    "to the engine unchanged, after their text is scanned."
)
CHAT_DESCRIPTION = "An OpenAI-compatible chat completion. " + _PIPELINE.format(permission="chat")
COMPLETION_DESCRIPTION = "An OpenAI-compatible text completion. " + _PIPELINE.format(permission="completions")
MODELS_DESCRIPTION = (
    "The models the engine serves and the site's aliases of them, narrowed to those the "
    "caller's roles and key may use. Needs the `models:list` permission."
)

_ERRORS = {
    400: "Invalid request: bad JSON, UTF-8 or nesting depth, wrong field types, a non-text "
    "content part, a duplicated header, a missing X-Data-Subject the role requires, or a policy "
    "violation (such as prompt injection).",
    401: "No valid credential (`invalid_api_key`, whatever the reason).",
    403: "The caller's roles lack the permission, or may not use the model (`model_not_allowed`).",
    404: "The model is neither served by the engine nor a site alias (`model_not_found`).",
    413: "The body, or the text in it, is larger than the gateway accepts.",
    415: "The body is not JSON: `Content-Type` must be `application/json` or `application/*+json`.",
    429: "A rate limit or token quota is exhausted; `Retry-After` says when to try again.",
    502: "The engine answered with something that is not a valid answer.",
    503: "PII detection, the audit log, the rate limiter or the engine is unavailable; the "
    "request is refused rather than passed on unchecked.",
}


def error_responses(descriptions: dict[int, str]) -> dict[int, ResponseSpec]:
    """An error answer in the OpenAI error shape for each status, with its description."""
    return {
        status: ResponseSpec(OpenAIError, description=description, generate_examples=False)
        for status, description in descriptions.items()
    }


_STREAMABLE = "The completion; with `stream: true`, server-sent events instead."
CHAT_RESPONSES = {
    200: ResponseSpec(ChatCompletion, description=_STREAMABLE, generate_examples=False),
    **error_responses(_ERRORS),
}
COMPLETION_RESPONSES = {
    200: ResponseSpec(TextCompletion, description=_STREAMABLE, generate_examples=False),
    **error_responses(_ERRORS),
}
MODELS_RESPONSES = {
    200: ResponseSpec(ModelList, description="The models the caller may use.", generate_examples=False),
    **error_responses(
        {
            400: "A duplicated header.",
            401: _ERRORS[401],
            403: "The caller's roles lack `models:list`.",
            503: "The engine's model list is unavailable.",
        }
    ),
}

_SSE_SCHEMA = Schema(
    type=OpenAPIType.STRING,
    description="Server-sent events: `data: {chunk}` lines (`chat.completion.chunk` or "
    "`text_completion` objects, already through the output filter), then `data: [DONE]` once "
    "the answer's audit record is committed. A failure after the stream started ends it with "
    '`data: {"error": ...}` and no `[DONE]`.',
)
_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before trying again.",
    required=True,
)

_DATA_SUBJECT = Parameter(
    name="X-Data-Subject",
    param_in=ParamType.HEADER,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=256),
    description="The id of the person the request is about, recorded with the request's audit "
    "record. Required (400 `data_subject_required`) when the caller's role says so.",
)


@dataclass
class OpenAIOperation(Operation):
    """An operation of the OpenAI routes: adds what Litestar cannot infer from a handler that
    reads the raw request (the body schema, ``X-Data-Subject``, the event-stream answer,
    ``Retry-After``)."""

    request_type: ClassVar[type[msgspec.Struct] | None] = None

    def __post_init__(self) -> None:
        responses = self.responses or {}
        if self.request_type is not None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=request_schema(self.request_type))},
                required=True,
            )
            self.parameters = [*(self.parameters or []), _DATA_SUBJECT]
            ok = responses.get("200")
            if isinstance(ok, OpenAPIResponse) and ok.content is not None:
                ok.content[SSE_MEDIA_TYPE] = OpenAPIMediaType(schema=_SSE_SCHEMA)
        limited = responses.get("429")
        if isinstance(limited, OpenAPIResponse):
            limited.headers = {"Retry-After": _RETRY_AFTER}


@dataclass
class ChatCompletionsOperation(OpenAIOperation):
    """POST /v1/chat/completions."""

    request_type: ClassVar[type[msgspec.Struct] | None] = ChatCompletionRequest


@dataclass
class CompletionsOperation(OpenAIOperation):
    """POST /v1/completions."""

    request_type: ClassVar[type[msgspec.Struct] | None] = CompletionRequest


# ----------------------------------------------------------------------------- JSON Schema -> spec

# msgspec's JSON Schema keywords and the spec's field names; nested ones hold schemas.
_PLAIN = {
    "title": "title",
    "enum": "enum",
    "const": "const",
    "default": "default",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "pattern": "pattern",
}
_ONE = {"items": "items", "additionalProperties": "additional_properties"}
_MANY = {"anyOf": "any_of", "oneOf": "one_of", "allOf": "all_of", "prefixItems": "prefix_items"}


def request_schema(struct: type[msgspec.Struct]) -> Schema:
    """The OpenAPI schema of a request Struct, inlined (no component references), with
    additional properties allowed at the top level: unknown fields are forwarded."""
    (root,), definitions = msgspec.json.schema_components([struct], ref_template="#/$defs/{name}")
    schema = _to_spec(root, definitions)
    schema.additional_properties = True
    return schema


def _to_spec(node: dict[str, Any], definitions: dict[str, Any]) -> Schema:
    if "$ref" in node:
        return _to_spec(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
    fields: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            fields["type"] = (
                [OpenAPIType(t) for t in value] if isinstance(value, list) else OpenAPIType(value)
            )
        elif key == "description":
            fields["description"] = " ".join(value.split())  # docstrings keep their indentation
        elif key == "required":
            fields["required"] = value or None
        elif key == "properties":
            fields["properties"] = {name: _to_spec(item, definitions) for name, item in value.items()}
        elif key in _PLAIN:
            fields[_PLAIN[key]] = value
        elif key in _ONE:
            fields[_ONE[key]] = value if isinstance(value, bool) else _to_spec(value, definitions)
        elif key in _MANY:
            fields[_MANY[key]] = [_to_spec(item, definitions) for item in value]
    return Schema(**fields)
