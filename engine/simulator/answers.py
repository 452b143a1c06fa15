"""What the simulated model "generates": text cut into tokens, and the answer of echo or script mode."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from engine.simulator.config import EOS_TOKEN_ID
from engine.simulator.script import ScriptedAnswer

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
    """One generated "token": reasoning, content or tool-call arguments."""

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
        """The pieces of ``kind`` joined."""
        return "".join(p.text for p in self.pieces if p.kind == kind)

    def has(self, kind: PieceKind) -> bool:
        """Whether the answer has at least one piece of ``kind``."""
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
