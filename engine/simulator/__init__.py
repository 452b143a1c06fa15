"""A SIMULATOR of SGLang's HTTP API, for tests and benchmarks. It is not an inference engine.

It answers like ``python -m sglang.launch_server`` does over HTTP (OpenAI-compatible routes,
SGLang's SSE framing and extensions such as ``matched_stop`` and ``reasoning_content``, its error
shape, info and metrics routes) without loading a model:

- ``echo`` mode answers with the last user message (completions: the first prompt), cut into
  word-ish "tokens" (``tokenize``) so a streamed answer arrives in several chunks.
- ``script`` mode serves the answers of a JSON script file in order; see ``engine.simulator.script``
  for the format (content, reasoning and tool-call chunks, scripted errors, mid-stream aborts).

Simulator-only routes let tests see what the model would have seen and what happened:
``GET /sim/requests`` (request bodies as received, oldest first), ``DELETE /sim/requests``,
``GET /sim/stats`` (``started``, ``completed``, ``cancelled`` = streams whose client went away
before the end, ``aborted`` = scripted mid-stream drops, ``in_flight``), and ``PUT /sim/script``
(body: a script list; switches to script mode from its first answer) / ``DELETE /sim/script``
(back to the configured mode).

Run it with ``python -m engine.simulator --port 30000`` or ``gateway engine sim``.

Layout: ``config`` (settings), ``script`` (the script format), ``answers`` (tokens and what the
model "generates"), ``parsing`` (request validation), ``state`` (recorded bodies, counters),
``responses`` and ``streaming`` (SGLang's bodies and SSE framing), ``faults`` (scripted errors and
aborts), ``info`` (model card, info routes, metrics), ``errors`` (SGLang's error shape), ``app``
(the Litestar routes) and ``cli`` (flags, banner, uvicorn; ``python -m engine.simulator``).

Names are imported from their module on first use, so ``from engine.simulator import
add_sim_arguments`` (every ``gateway`` command builds its parser with it) does not load the web
framework; only building the app does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.simulator.answers import Answer, Piece, PieceKind, plan_echo, plan_script, tokenize
    from engine.simulator.app import create_sim_app
    from engine.simulator.cli import (
        BANNER,
        PARENT_PID_ENV,
        add_sim_arguments,
        config_from_args,
        exit_with_parent,
        main,
        run_simulator,
    )
    from engine.simulator.config import CONTEXT_LENGTH, EOS_TOKEN_ID, SGLANG_COMPAT_VERSION, SimConfig
    from engine.simulator.errors import SimHTTPError, error_body
    from engine.simulator.faults import SimulatedAbort
    from engine.simulator.info import metrics_text
    from engine.simulator.parsing import Generation, parse_chat, parse_completion
    from engine.simulator.responses import chat_response, completion_response
    from engine.simulator.script import (
        ScriptedAnswer,
        ScriptedError,
        ScriptedToolCall,
        ScriptError,
        load_script,
        parse_script,
    )
    from engine.simulator.state import SimState, SimStats
    from engine.simulator.streaming import chat_events, completion_events

#: Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "Answer": "answers",
    "Piece": "answers",
    "PieceKind": "answers",
    "plan_echo": "answers",
    "plan_script": "answers",
    "tokenize": "answers",
    "create_sim_app": "app",
    "BANNER": "cli",
    "PARENT_PID_ENV": "cli",
    "add_sim_arguments": "cli",
    "config_from_args": "cli",
    "exit_with_parent": "cli",
    "main": "cli",
    "run_simulator": "cli",
    "CONTEXT_LENGTH": "config",
    "EOS_TOKEN_ID": "config",
    "SGLANG_COMPAT_VERSION": "config",
    "SimConfig": "config",
    "SimHTTPError": "errors",
    "error_body": "errors",
    "SimulatedAbort": "faults",
    "metrics_text": "info",
    "Generation": "parsing",
    "parse_chat": "parsing",
    "parse_completion": "parsing",
    "chat_response": "responses",
    "completion_response": "responses",
    "ScriptError": "script",
    "ScriptedAnswer": "script",
    "ScriptedError": "script",
    "ScriptedToolCall": "script",
    "load_script": "script",
    "parse_script": "script",
    "SimState": "state",
    "SimStats": "state",
    "chat_events": "streaming",
    "completion_events": "streaming",
}

__all__ = [
    "BANNER",
    "CONTEXT_LENGTH",
    "EOS_TOKEN_ID",
    "PARENT_PID_ENV",
    "SGLANG_COMPAT_VERSION",
    "Answer",
    "Generation",
    "Piece",
    "PieceKind",
    "ScriptError",
    "ScriptedAnswer",
    "ScriptedError",
    "ScriptedToolCall",
    "SimConfig",
    "SimHTTPError",
    "SimState",
    "SimStats",
    "SimulatedAbort",
    "add_sim_arguments",
    "chat_events",
    "chat_response",
    "completion_events",
    "completion_response",
    "config_from_args",
    "create_sim_app",
    "error_body",
    "exit_with_parent",
    "load_script",
    "main",
    "metrics_text",
    "parse_chat",
    "parse_completion",
    "parse_script",
    "plan_echo",
    "plan_script",
    "run_simulator",
    "tokenize",
]


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is still an error there

    def __getattr__(name: str) -> Any:
        """Import a public name from its module the first time it is asked for."""
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's names, the ones not imported yet included."""
    return sorted({*globals(), *__all__})
