"""A SIMULATOR of SGLang's HTTP API, for tests and benchmarks. It is not an inference engine.

It answers like ``python -m sglang.launch_server`` does over HTTP (OpenAI-compatible routes,
SGLang's SSE framing and extensions such as ``matched_stop`` and ``reasoning_content``, its error
shape, info and metrics routes) without loading a model:

- ``echo`` mode answers with the last user message (completions: the first prompt), cut into
  word-ish "tokens" (``tokenize``) so a streamed answer arrives in several chunks.
- ``script`` mode serves the answers of a JSON script file in order; see ``engine.sim_script``
  for the format (content, reasoning and tool-call chunks, scripted errors, mid-stream aborts).

Simulator-only routes let tests see what the model would have seen and what happened:
``GET /sim/requests`` (request bodies as received, oldest first), ``DELETE /sim/requests``,
``GET /sim/stats`` (``started``, ``completed``, ``cancelled`` = streams whose client went away
before the end, ``aborted`` = scripted mid-stream drops, ``in_flight``), and ``PUT /sim/script``
(body: a script list; switches to script mode from its first answer) / ``DELETE /sim/script``
(back to the configured mode).

Run it with ``python -m engine.simulator --port 30000`` or ``gateway engine sim``.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import uvicorn
from litestar import Litestar, MediaType, Request, Response, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Stream
from litestar.types import ASGIApp, Receive, Scope, Send

from engine.sim_script import ScriptedAnswer, ScriptedError, ScriptError, load_script, parse_script

SGLANG_COMPAT_VERSION = "0.5.0+simulator"
CONTEXT_LENGTH = 163_840  # DeepSeek-V3's context window
EOS_TOKEN_ID = 1  # DeepSeek-V3's <｜end▁of▁sentence｜>; SGLang reports it as matched_stop on a natural stop
_PUBLIC = "sim_public"  # route opt key: reachable without the API key, as in SGLang

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulator process."""

    host: str = "127.0.0.1"
    port: int = 30000
    mode: Literal["echo", "script"] = "echo"
    script_path: str | None = None
    ttft_ms: float = 0.0
    tpot_ms: float = 0.0
    api_key: str | None = None
    model: str = "deepseek-ai/DeepSeek-V3"
    max_recorded: int = 1000

    def __post_init__(self) -> None:
        if self.mode not in ("echo", "script"):
            raise ValueError("mode must be 'echo' or 'script'")
        if self.mode == "script" and not self.script_path:
            raise ValueError("script mode needs script_path")
        if self.ttft_ms < 0 or self.tpot_ms < 0:
            raise ValueError("ttft_ms and tpot_ms must not be negative")
        if self.max_recorded < 0:
            raise ValueError("max_recorded must not be negative")

    def __repr__(self) -> str:  # the key never appears in a repr or a log
        return (
            f"SimConfig(host={self.host!r}, port={self.port}, mode={self.mode!r}, "
            f"script_path={self.script_path!r}, ttft_ms={self.ttft_ms}, tpot_ms={self.tpot_ms}, "
            f"api_key={'***' if self.api_key else None}, model={self.model!r}, "
            f"max_recorded={self.max_recorded})"
        )


# --------------------------------------------------------------------------- tokens and answers

_CJK = "\u2e80-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]\s*|[^\s{_CJK}]+\s*|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into word-ish pieces (a word with its trailing spaces, or one CJK character).

    The pieces joined give back the text exactly.
    """
    return _TOKEN.findall(text)


PieceKind = Literal["reasoning", "content", "arguments"]


@dataclass(frozen=True)
class Piece:
    kind: PieceKind
    text: str


@dataclass(frozen=True)
class Answer:
    """What the simulated model generates for one request: its pieces ("tokens") and how it ends."""

    pieces: tuple[Piece, ...]
    finish_reason: str
    matched_stop: int | str | None
    tool_name: str | None = None
    abort_after: int | None = None

    def text(self, kind: PieceKind) -> str:
        return "".join(p.text for p in self.pieces if p.kind == kind)

    def has(self, kind: PieceKind) -> bool:
        return any(p.kind == kind for p in self.pieces)


def plan_echo(text: str, max_tokens: int | None, stop: Sequence[str]) -> Answer:
    """The answer of echo mode: ``text`` cut at the first stop string, then at ``max_tokens``."""
    matched: int | str = EOS_TOKEN_ID
    cut = min(((text.find(s), s) for s in stop if s and s in text), default=None)
    if cut is not None:
        text, matched = text[: cut[0]], cut[1]
    return _truncate(tuple(Piece("content", t) for t in tokenize(text)), max_tokens, matched, None, None)


def plan_script(answer: ScriptedAnswer, max_tokens: int | None, chat: bool) -> Answer:
    """The answer of a scripted entry; completions get its content chunks only."""
    pieces = [Piece("content", c) for c in answer.content]
    tool_name = None
    if chat:
        pieces = [Piece("reasoning", c) for c in answer.reasoning] + pieces
        if answer.tool_call is not None:
            tool_name = answer.tool_call.name
            pieces += [Piece("arguments", c) for c in answer.tool_call.arguments_chunks]
    return _truncate(tuple(pieces), max_tokens, EOS_TOKEN_ID, tool_name, answer.abort_after)


def _truncate(
    pieces: tuple[Piece, ...],
    max_tokens: int | None,
    matched: int | str,
    tool_name: str | None,
    abort_after: int | None,
) -> Answer:
    if max_tokens is not None and len(pieces) > max_tokens:
        return Answer(pieces[:max_tokens], "length", None, tool_name, abort_after)
    return Answer(pieces, "tool_calls" if tool_name else "stop", matched, tool_name, abort_after)


# --------------------------------------------------------------------------- request validation


class SimHTTPError(HTTPException):
    """An error answered in SGLang's error shape."""


def _bad_request(message: str) -> SimHTTPError:
    return SimHTTPError(status_code=400, detail=message)


@dataclass(frozen=True)
class Generation:
    """The validated parts of a chat or completions request the simulator acts on."""

    model: str
    request_id: str
    echo_text: str
    prompt_tokens: int
    stream: bool
    include_usage: bool
    max_tokens: int | None
    stop: tuple[str, ...]


_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def _optional(body: dict[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise _bad_request(f"'{key}' must be {what}")
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _common(
    body: dict[str, Any], default_model: str, prefix: str, max_tokens_keys: Sequence[str]
) -> dict[str, Any]:
    model = _optional(body, "model", str, "a string") or default_model
    stream = bool(_optional(body, "stream", bool, "a boolean"))
    options = _optional(body, "stream_options", dict, "an object") or {}
    include_usage = options.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise _bad_request("'stream_options.include_usage' must be a boolean")
    max_tokens = None
    for key in max_tokens_keys:
        value = _optional(body, key, int, "an integer")
        if value is not None:
            if value < 0:
                raise _bad_request(f"'{key}' must not be negative")
            max_tokens = value
    stop = body.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = tuple(stop)
    else:
        raise _bad_request("'stop' must be a string or a list of strings")
    n = _optional(body, "n", int, "an integer")
    if n is not None and n != 1:
        raise _bad_request("the simulator supports n=1 only")
    rid = body.get("rid")
    request_id = rid if isinstance(rid, str) and rid else f"{prefix}-{uuid.uuid4().hex}"
    return {
        "model": model,
        "request_id": request_id,
        "stream": stream,
        "include_usage": bool(stream and include_usage),
        "max_tokens": max_tokens,
        "stop": stops,
    }


def _message_text(message: Any, index: int) -> tuple[str, str]:
    if not isinstance(message, dict):
        raise _bad_request(f"messages[{index}] must be an object")
    role = message.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise _bad_request(f"messages[{index}].role must be one of {sorted(_ROLES)}")
    content = message.get("content")
    if content is None or isinstance(content, str):
        return role, content or ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise _bad_request(f"messages[{index}].content parts must be objects with a 'type'")
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise _bad_request(f"messages[{index}].content text parts need a string 'text'")
                parts.append(part["text"])
        return role, "".join(parts)
    raise _bad_request(f"messages[{index}].content must be a string, a list of parts or null")


def parse_chat(body: dict[str, Any], default_model: str) -> Generation:
    """Validate a /v1/chat/completions body; raises a 400 ``SimHTTPError`` naming the bad field."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad_request("'messages' must be a non-empty list")
    texts = [_message_text(m, i) for i, m in enumerate(messages)]
    echo = next((text for role, text in reversed(texts) if role == "user"), "")
    prompt_tokens = sum(len(tokenize(text)) for _, text in texts)
    common = _common(body, default_model, "chatcmpl", ("max_tokens", "max_completion_tokens"))
    return Generation(echo_text=echo, prompt_tokens=prompt_tokens, **common)


def parse_completion(body: dict[str, Any], default_model: str) -> Generation:
    """Validate a /v1/completions body (prompt: a string, a list of strings, or token ids)."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompts = list(prompt)
    elif isinstance(prompt, list) and prompt and all(_is_int(t) for t in prompt):
        prompts = [" ".join(str(t) for t in prompt)]
    elif (
        isinstance(prompt, list)
        and prompt
        and all(isinstance(p, list) and p and all(_is_int(t) for t in p) for p in prompt)
    ):
        prompts = [" ".join(str(t) for t in p) for p in prompt]
    else:
        raise _bad_request("'prompt' must be a string, a non-empty list of strings, or token ids")
    common = _common(body, default_model, "cmpl", ("max_tokens",))
    return Generation(echo_text=prompts[0], prompt_tokens=sum(len(tokenize(p)) for p in prompts), **common)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- state


@dataclass
class SimStats:
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    aborted: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0

    @property
    def in_flight(self) -> int:
        return self.started - self.completed - self.cancelled - self.aborted


class SimState:
    """Everything one simulator process remembers: recorded bodies, counters, the script cursor."""

    def __init__(self, config: SimConfig, script: tuple[ScriptedAnswer, ...] | None) -> None:
        self.config = config
        self.recorded: deque[Any] = deque(maxlen=config.max_recorded)
        self.stats = SimStats()
        self._configured_script = script
        self._script = script
        self._cursor = 0
        self.started_at = int(time.time())

    def set_script(self, script: tuple[ScriptedAnswer, ...] | None) -> None:
        """Serve ``script`` from its first answer; ``None`` goes back to the configured mode."""
        self._script = script if script is not None else self._configured_script
        self._cursor = 0

    def answer(self, generation: Generation, chat: bool) -> Answer:
        """The next answer for this request; raises ``SimHTTPError`` for a scripted error."""
        if self._script is None:
            return plan_echo(generation.echo_text, generation.max_tokens, generation.stop)
        scripted = self._script[self._cursor % len(self._script)]
        self._cursor += 1
        if scripted.error is not None:
            raise _scripted_error(scripted.error)
        return plan_script(scripted, generation.max_tokens, chat)

    def begin(self, generation: Generation, answer: Answer) -> None:
        self.stats.started += 1
        self.stats.prompt_tokens += generation.prompt_tokens
        self.stats.generation_tokens += len(answer.pieces)

    def end(self, outcome: Literal["completed", "cancelled", "aborted"]) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)


def _scripted_error(error: ScriptedError) -> SimHTTPError:
    return SimHTTPError(status_code=error.status, detail=error.message)


class SimulatedAbort(Exception):
    """Raised inside a stream to drop the connection the way a crashed worker would."""


# --------------------------------------------------------------------------- responses


def _usage_chunk(generation: Generation, answer: Answer, created: int, obj: str) -> bytes:
    """The final ``choices: []`` chunk carrying usage (``stream_options.include_usage``)."""
    return _sse(
        {
            "id": generation.request_id,
            "object": obj,
            "created": created,
            "model": generation.model,
            "choices": [],
            "usage": _usage(generation, answer),
        }
    )


def _usage(generation: Generation, answer: Answer) -> dict[str, Any]:
    completion = len(answer.pieces)
    return {
        "prompt_tokens": generation.prompt_tokens,
        "total_tokens": generation.prompt_tokens + completion,
        "completion_tokens": completion,
        "prompt_tokens_details": None,
        "reasoning_tokens": sum(1 for p in answer.pieces if p.kind == "reasoning"),
    }


def _tool_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def chat_response(generation: Generation, answer: Answer) -> dict[str, Any]:
    """The non-streaming /v1/chat/completions body, as SGLang builds it."""
    tool_calls = None
    if answer.tool_name is not None:
        tool_calls = [
            {
                "id": _tool_call_id(),
                "index": 0,
                "type": "function",
                "function": {"name": answer.tool_name, "arguments": answer.text("arguments")},
            }
        ]
    content: str | None = answer.text("content")
    if tool_calls and not content:
        content = None
    message = {
        "role": "assistant",
        "content": content,
        "reasoning_content": answer.text("reasoning") if answer.has("reasoning") else None,
        "tool_calls": tool_calls,
    }
    return {
        "id": generation.request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": generation.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
                "matched_stop": answer.matched_stop,
            }
        ],
        "usage": _usage(generation, answer),
    }


def completion_response(generation: Generation, answer: Answer) -> dict[str, Any]:
    """The non-streaming /v1/completions body, as SGLang builds it."""
    return {
        "id": generation.request_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": generation.model,
        "choices": [
            {
                "index": 0,
                "text": answer.text("content"),
                "logprobs": None,
                "finish_reason": answer.finish_reason,
                "matched_stop": answer.matched_stop,
            }
        ],
        "usage": _usage(generation, answer),
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"


_DONE = b"data: [DONE]\n\n"


async def _pace(config: SimConfig, index: int) -> None:
    """Wait before piece ``index``: TTFT before the first, TPOT between the others."""
    delay_ms = config.ttft_ms if index == 0 else config.tpot_ms
    # Even with no delay, yield to the loop so a client disconnect can cancel the stream.
    await asyncio.sleep(delay_ms / 1000)


def chat_events(config: SimConfig, generation: Generation, answer: Answer) -> AsyncGenerator[bytes, None]:
    """SSE events of a streamed chat answer, framed and ordered as SGLang sends them."""
    created = int(time.time())

    def chunk(
        delta: dict[str, Any], finish_reason: str | None = None, matched_stop: int | str | None = None
    ) -> bytes:
        return _sse(
            {
                "id": generation.request_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": generation.model,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish_reason,
                        "matched_stop": matched_stop,
                    }
                ],
                "usage": None,
            }
        )

    async def events() -> AsyncGenerator[bytes, None]:
        await _pace(config, 0)
        yield chunk({"role": "assistant", "content": ""})
        tool_opened = False
        for index, piece in enumerate(answer.pieces):
            if index:
                await _pace(config, index)
            if answer.abort_after is not None and index >= answer.abort_after:
                raise SimulatedAbort
            if piece.kind == "reasoning":
                yield chunk({"reasoning_content": piece.text})
            elif piece.kind == "content":
                yield chunk({"content": piece.text})
            else:
                if not tool_opened:
                    tool_opened = True
                    yield chunk(_tool_open(answer))
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece.text}}]})
        if answer.abort_after is not None:
            raise SimulatedAbort
        if answer.tool_name is not None and not tool_opened:
            yield chunk(_tool_open(answer))
        yield chunk({}, answer.finish_reason, answer.matched_stop)
        if generation.include_usage:
            yield _usage_chunk(generation, answer, created, "chat.completion.chunk")
        yield _DONE

    return events()


def _tool_open(answer: Answer) -> dict[str, Any]:
    return {
        "tool_calls": [
            {
                "index": 0,
                "id": _tool_call_id(),
                "type": "function",
                "function": {"name": answer.tool_name, "arguments": ""},
            }
        ]
    }


def completion_events(
    config: SimConfig, generation: Generation, answer: Answer
) -> AsyncGenerator[bytes, None]:
    """SSE events of a streamed completion; as in SGLang the last text chunk carries finish_reason."""
    created = int(time.time())

    def chunk(text: str, last: bool) -> bytes:
        return _sse(
            {
                "id": generation.request_id,
                "object": "text_completion",
                "created": created,
                "model": generation.model,
                "choices": [
                    {
                        "index": 0,
                        "text": text,
                        "logprobs": None,
                        "finish_reason": answer.finish_reason if last else None,
                        "matched_stop": answer.matched_stop if last else None,
                    }
                ],
                "usage": None,
            }
        )

    async def events() -> AsyncGenerator[bytes, None]:
        pieces = answer.pieces or (Piece("content", ""),)
        for index, piece in enumerate(pieces):
            await _pace(config, index)
            if answer.abort_after is not None and index >= answer.abort_after:
                raise SimulatedAbort
            yield chunk(piece.text, index == len(pieces) - 1)
        if answer.abort_after is not None:
            raise SimulatedAbort
        if generation.include_usage:
            yield _usage_chunk(generation, answer, created, "text_completion")
        yield _DONE

    return events()


async def _counted(sim: SimState, events: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """Pass events through, recording at the end whether the stream completed, was cancelled or aborted.

    ``completed`` is only reached after ``[DONE]`` was handed on and the consumer asked for more,
    so a client that went away earlier (the generator is cancelled or closed) counts as cancelled.
    """
    outcome: Literal["completed", "cancelled", "aborted"] = "cancelled"
    try:
        async for event in events:
            yield event
        outcome = "completed"
    except SimulatedAbort:
        outcome = "aborted"
        raise
    finally:
        await events.aclose()
        sim.end(outcome)


async def _prepend(first: bytes, rest: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    try:
        yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()


async def _generate(request: Request[Any, Any, Any], sim: SimState, chat: bool) -> Response[Any]:
    body = await _read_json(request)
    if isinstance(body, dict):
        sim.recorded.append(body)
    else:
        raise _bad_request("the request body must be a JSON object")
    config = sim.config
    generation = parse_chat(body, config.model) if chat else parse_completion(body, config.model)
    answer = sim.answer(generation, chat)
    sim.begin(generation, answer)
    if generation.stream:
        make_events = chat_events if chat else completion_events
        events = _counted(sim, make_events(config, generation, answer))
        # As SGLang does, produce the first chunk before the response starts (TTFT before headers).
        first = await events.__anext__()
        return Stream(
            _prepend(first, events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    outcome: Literal["completed", "cancelled"] = "cancelled"
    try:
        await asyncio.sleep((config.ttft_ms + config.tpot_ms * max(len(answer.pieces) - 1, 0)) / 1000)
        payload = chat_response(generation, answer) if chat else completion_response(generation, answer)
        outcome = "completed"
    finally:
        sim.end(outcome)
    return Response(_encode(payload), media_type=MediaType.JSON)


async def _read_json(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise _bad_request("the request body is not valid JSON") from None


# --------------------------------------------------------------------------- routes


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> Response[Any]:
    """OpenAI chat completions, streaming or not."""
    return await _generate(request, sim, chat=True)


@post("/v1/completions", status_code=200)
async def completions(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> Response[Any]:
    """OpenAI completions, streaming or not."""
    return await _generate(request, sim, chat=False)


def _model_card(sim: SimState) -> dict[str, Any]:
    model = sim.config.model
    return {
        "id": model,
        "object": "model",
        "created": sim.started_at,
        "owned_by": "sglang",
        "root": model,
        "max_model_len": CONTEXT_LENGTH,
    }


@get("/v1/models")
async def list_models(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """The one served model, as SGLang lists it."""
    return {"object": "list", "data": [_model_card(sim)]}


@get("/v1/models/{model_id:path}")
async def retrieve_model(model_id: FromPath[str], sim: NamedDependency[SimState]) -> dict[str, Any]:
    """One model card, or 404 for another name."""
    if model_id.lstrip("/") != sim.config.model:
        raise SimHTTPError(status_code=404, detail="The model does not exist.")
    return _model_card(sim)


@get(["/health", "/health_generate"], opt={_PUBLIC: True}, status_code=200)
async def health() -> Response[bytes]:
    """Liveness (and, in SGLang, a one-token generation): 200 with an empty body."""
    return Response(b"", status_code=200)


@get("/get_model_info")
async def model_info(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """SGLang's model info."""
    return {
        "model_path": sim.config.model,
        "tokenizer_path": sim.config.model,
        "is_generation": True,
        "preferred_sampling_params": None,
        "weight_version": "default",
        "has_image_understanding": False,
        "has_audio_understanding": False,
        "model_type": "deepseek_v3",
        "architectures": ["DeepseekV3ForCausalLM"],
    }


@get("/get_server_info")
async def server_info(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """SGLang's server arguments and state, marked as a simulator."""
    config = sim.config
    return {
        "model_path": config.model,
        "tokenizer_path": config.model,
        "served_model_name": config.model,
        "host": config.host,
        "port": config.port,
        "quantization": "fp8",
        "dtype": "auto",
        "kv_cache_dtype": "auto",
        "tp_size": 1,
        "dp_size": 1,
        "mem_fraction_static": 0.88,
        "context_length": CONTEXT_LENGTH,
        "max_running_requests": None,
        "chunked_prefill_size": 8192,
        "enable_metrics": True,
        "reasoning_parser": "deepseek-r1",
        "tool_call_parser": "deepseekv3",
        "trust_remote_code": True,
        "internal_states": [{"last_gen_throughput": 0.0, "avg_spec_accept_length": None}],
        "version": SGLANG_COMPAT_VERSION,
        "simulator": True,
        "simulator_mode": config.mode,
        "simulator_ttft_ms": config.ttft_ms,
        "simulator_tpot_ms": config.tpot_ms,
    }


def metrics_text(sim: SimState) -> str:
    """Prometheus text with SGLang's metric names, from the simulator's counters."""
    label = sim.config.model.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    stats = sim.stats
    rows = [
        ("num_running_reqs", "gauge", "The number of running requests.", stats.in_flight),
        ("num_queue_reqs", "gauge", "The number of requests in the waiting queue.", 0),
        ("num_used_tokens", "gauge", "The number of used tokens.", 0),
        ("token_usage", "gauge", "The token usage.", 0.0),
        ("gen_throughput", "gauge", "The generation throughput (token/s).", 0.0),
        ("cache_hit_rate", "gauge", "The prefix cache hit rate.", 0.0),
        ("prompt_tokens_total", "counter", "Number of prefill tokens processed.", stats.prompt_tokens),
        (
            "generation_tokens_total",
            "counter",
            "Number of generation tokens processed.",
            stats.generation_tokens,
        ),
        ("num_requests_total", "counter", "Number of requests processed.", stats.started),
        (
            "num_aborted_requests_total",
            "counter",
            "Number of requests aborted.",
            stats.cancelled + stats.aborted,
        ),
    ]
    lines = []
    for name, kind, help_text, value in rows:
        lines += [
            f"# HELP sglang:{name} {help_text}",
            f"# TYPE sglang:{name} {kind}",
            f'sglang:{name}{{model_name="{label}"}} {float(value)}',
        ]
    return "\n".join(lines) + "\n"


@get("/metrics", opt={_PUBLIC: True}, media_type="text/plain; version=0.0.4")
async def metrics(sim: NamedDependency[SimState]) -> str:
    """Prometheus metrics."""
    return metrics_text(sim)


@get("/sim/requests")
async def recorded_requests(sim: NamedDependency[SimState]) -> dict[str, Any]:
    """Request bodies received on the generation routes, oldest first."""
    return {"requests": list(sim.recorded)}


@delete("/sim/requests", status_code=204)
async def clear_requests(sim: NamedDependency[SimState]) -> None:
    """Forget the recorded request bodies."""
    sim.recorded.clear()


@get("/sim/stats")
async def stats(sim: NamedDependency[SimState]) -> dict[str, int]:
    """Counters of generation requests: started, completed, cancelled, aborted, in flight."""
    s = sim.stats
    return {
        "started": s.started,
        "completed": s.completed,
        "cancelled": s.cancelled,
        "aborted": s.aborted,
        "in_flight": s.in_flight,
    }


@put("/sim/script", status_code=200)
async def replace_script(request: Request[Any, Any, Any], sim: NamedDependency[SimState]) -> dict[str, Any]:
    """Serve this script (same format as a script file) from its first answer on."""
    try:
        script = parse_script(await _read_json(request))
    except ScriptError as exc:
        raise _bad_request(str(exc)) from None
    sim.set_script(script)
    return {"answers": len(script)}


@delete("/sim/script", status_code=204)
async def reset_script(sim: NamedDependency[SimState]) -> None:
    """Go back to the mode (and script) the simulator was started with."""
    sim.set_script(None)


# --------------------------------------------------------------------------- app


_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    405: "MethodNotAllowed",
    413: "RequestEntityTooLarge",
    429: "RateLimitError",
    503: "ServiceUnavailable",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    """SGLang's (OpenAI-style) error shape."""
    error_type = _ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "BadRequestError")
    return {"object": "error", "message": message, "type": error_type, "param": None, "code": status}


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return Response(
        error_body(exc.status_code, exc.detail), status_code=exc.status_code, headers=exc.headers or None
    )


def _internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response(error_body(500, f"Internal server error: {type(exc).__name__}"), status_code=500)


def _api_key_guard(api_key: str) -> Any:
    expected = api_key.encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get(_PUBLIC):
            return
        authorization = connection.headers.get("authorization", "")
        offered = (
            authorization[7:]
            if authorization[:7].lower() == "bearer "
            else connection.headers.get("x-api-key", "")
        )
        if not hmac.compare_digest(offered.strip().encode(), expected):
            raise NotAuthorizedException("Unauthorized: a valid API key is required.")

    return guard


def _drop_on_abort(app: ASGIApp) -> ASGIApp:
    """Let a scripted mid-stream abort end the request silently, so the server just closes the connection."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            if not _caused_by_abort(exc):
                raise

    return middleware


def _caused_by_abort(exc: BaseException | None) -> bool:
    # Litestar reports a failure after the response started as a LitestarException caused by the
    # anyio task group's ExceptionGroup, which holds the SimulatedAbort raised in the stream.
    while exc is not None:
        if isinstance(exc, SimulatedAbort):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return any(_caused_by_abort(inner) for inner in exc.exceptions)
        exc = exc.__cause__
    return False


def create_sim_app(config: SimConfig) -> Litestar:
    """Build the simulator's Litestar app; the script file (script mode) is loaded and checked here."""
    script = load_script(config.script_path) if config.mode == "script" and config.script_path else None
    sim = SimState(config, script)

    def provide_sim() -> SimState:
        return sim

    return Litestar(
        route_handlers=[
            chat_completions,
            completions,
            list_models,
            retrieve_model,
            health,
            model_info,
            server_info,
            metrics,
            recorded_requests,
            clear_requests,
            stats,
            replace_script,
            reset_script,
        ],
        dependencies={"sim": Provide(provide_sim, sync_to_thread=False)},
        guards=[_api_key_guard(config.api_key)] if config.api_key else [],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        middleware=[_drop_on_abort],
        state=State({"sim": sim}),
        request_max_body_size=256 * 1024 * 1024,
        openapi_config=None,
        debug=False,
    )


BANNER = (
    "*** SGLang SIMULATOR (engine.simulator) - for tests and benchmarks only. It is NOT an inference "
    "engine: no model is loaded; answers are {mode}. Serving the SGLang HTTP API on http://{host}:{port}"
    " as model '{model}'. ***"
)


def run_simulator(config: SimConfig) -> None:
    """Serve the simulator with uvicorn until interrupted, after a banner on stderr saying what it is."""
    app = create_sim_app(config)
    mode = "echoed back" if config.mode == "echo" else "read from a script file"
    print(
        BANNER.format(mode=mode, host=config.host, port=config.port, model=config.model),
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


# --------------------------------------------------------------------------- command line


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags (``--port``, ``--host``, ``--mode``, ...) to ``parser``."""
    defaults = SimConfig()
    parser.add_argument("--port", type=int, default=defaults.port, help="port to listen on")
    parser.add_argument("--host", default=defaults.host, help="address to listen on (default loopback)")
    parser.add_argument(
        "--mode",
        choices=("echo", "script"),
        default=None,
        help="echo the last user message, or serve a script (default: script when --script "
        "is given, else echo)",
    )
    parser.add_argument(
        "--script",
        dest="script_path",
        default=None,
        metavar="FILE",
        help="JSON script of answers (see engine.sim_script)",
    )
    parser.add_argument(
        "--ttft-ms", type=float, default=defaults.ttft_ms, help="delay before the first token"
    )
    parser.add_argument("--tpot-ms", type=float, default=defaults.tpot_ms, help="delay between tokens")
    parser.add_argument("--api-key", default=None, help="require this key (Bearer or x-api-key)")
    parser.add_argument("--model", default=defaults.model, help="served model name")
    parser.add_argument(
        "--max-recorded",
        type=int,
        default=defaults.max_recorded,
        help="how many request bodies GET /sim/requests keeps",
    )


def config_from_args(ns: argparse.Namespace) -> SimConfig:
    """Build a ``SimConfig`` from ``add_sim_arguments`` flags; raises ``ValueError`` if inconsistent."""
    mode: Literal["echo", "script"] = ns.mode or ("script" if ns.script_path else "echo")
    return SimConfig(
        host=ns.host,
        port=ns.port,
        mode=mode,
        script_path=ns.script_path,
        ttft_ms=ns.ttft_ms,
        tpot_ms=ns.tpot_ms,
        api_key=ns.api_key,
        model=ns.model,
        max_recorded=ns.max_recorded,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.simulator``: parse flags, check the script, serve."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.simulator",
        description="SGLang API simulator for tests and benchmarks (not an engine)",
    )
    add_sim_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
        if config.script_path:
            load_script(config.script_path)
    except ValueError as exc:
        parser.error(str(exc))
    exit_with_parent(os.environ.get(PARENT_PID_ENV))
    run_simulator(config)
    return 0


# Set by ``gateway serve``/``demo`` when they start the simulator as their child: the simulator
# stops when that process is gone, even when it died without cleaning up (uvicorn re-raises
# SIGTERM after its shutdown, so the parent's ``finally`` never runs; SIGKILL never runs it).
PARENT_PID_ENV = "GATEWAY_SIM_PARENT_PID"


def exit_with_parent(parent_pid: str | None, interval_s: float = 0.5) -> None:
    """Send ourselves SIGTERM (a clean uvicorn shutdown) once ``parent_pid`` is no longer our parent."""
    if not parent_pid or not parent_pid.isdigit():
        return
    expected = int(parent_pid)

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(interval_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
