"""Streamed answers: SGLang's SSE framing and chunk order, paced by TTFT and TPOT, and counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import msgspec

from engine.simulator.answers import Answer, Piece
from engine.simulator.config import SimConfig
from engine.simulator.faults import SimulatedAbort
from engine.simulator.parsing import Generation
from engine.simulator.responses import tool_call_id, usage
from engine.simulator.state import Outcome, SimState

_encode = msgspec.json.Encoder().encode


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"


_DONE = b"data: [DONE]\n\n"


def _usage_chunk(generation: Generation, answer: Answer, created: int, obj: str) -> bytes:
    """The final ``choices: []`` chunk carrying usage (``stream_options.include_usage``)."""
    return _sse(
        {
            "id": generation.request_id,
            "object": obj,
            "created": created,
            "model": generation.model,
            "choices": [],
            "usage": usage(generation, answer),
        }
    )


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
                "id": tool_call_id(),
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


async def counted(sim: SimState, events: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """Pass events through, recording at the end whether the stream completed, was cancelled or aborted.

    ``completed`` is only reached after ``[DONE]`` was handed on and the consumer asked for more,
    so a client that went away earlier (the generator is cancelled or closed) counts as cancelled.
    """
    outcome: Outcome = "cancelled"
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


async def prepend(first: bytes, rest: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """``first``, then the events of ``rest``; closing it closes ``rest``."""
    try:
        yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()
