"""The simulator's script format; it lives in ``engine.simulator.script``, and is re-exported here."""

from engine.simulator.script import (
    ScriptedAnswer,
    ScriptedError,
    ScriptedToolCall,
    ScriptError,
    load_script,
    parse_script,
)

__all__ = [
    "ScriptError",
    "ScriptedAnswer",
    "ScriptedError",
    "ScriptedToolCall",
    "load_script",
    "parse_script",
]
