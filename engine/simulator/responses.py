"""Non-streaming chat and completions bodies, shaped as SGLang builds them."""

from __future__ import annotations

import time
import uuid
from typing import Any

from engine.simulator.answers import Answer
from engine.simulator.parsing import Generation


def usage(generation: Generation, answer: Answer) -> dict[str, Any]:
    """The ``usage`` object of an answer: prompt, completion and reasoning token counts."""
    completion = len(answer.pieces)
    return {
        "prompt_tokens": generation.prompt_tokens,
        "total_tokens": generation.prompt_tokens + completion,
        "completion_tokens": completion,
        "prompt_tokens_details": None,
        "reasoning_tokens": sum(1 for p in answer.pieces if p.kind == "reasoning"),
    }


def tool_call_id() -> str:
    """A fresh tool-call id in SGLang's ``call_...`` form."""
    return f"call_{uuid.uuid4().hex[:24]}"


def chat_response(generation: Generation, answer: Answer) -> dict[str, Any]:
    """The non-streaming /v1/chat/completions body, as SGLang builds it."""
    tool_calls = None
    if answer.tool_name is not None:
        tool_calls = [
            {
                "id": tool_call_id(),
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
        "usage": usage(generation, answer),
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
        "usage": usage(generation, answer),
    }
