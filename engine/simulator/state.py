"""What one simulator process remembers: recorded bodies, counters and the script cursor."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from engine.simulator.answers import Answer, plan_echo, plan_script
from engine.simulator.config import SimConfig
from engine.simulator.faults import scripted_error
from engine.simulator.parsing import Generation
from engine.simulator.script import ScriptedAnswer

Outcome = Literal["completed", "cancelled", "aborted"]


@dataclass
class SimStats:
    """Counters of generation requests, and of the tokens they took and produced."""

    started: int = 0
    completed: int = 0
    cancelled: int = 0
    aborted: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0

    @property
    def in_flight(self) -> int:
        """Requests started and not yet completed, cancelled or aborted."""
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
            raise scripted_error(scripted.error)
        return plan_script(scripted, generation.max_tokens, chat)

    def begin(self, generation: Generation, answer: Answer) -> None:
        """Count a generation that starts with ``answer``."""
        self.stats.started += 1
        self.stats.prompt_tokens += generation.prompt_tokens
        self.stats.generation_tokens += len(answer.pieces)

    def end(self, outcome: Outcome) -> None:
        """Count how a started generation ended."""
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
