"""The streaming output filter: restore pseudonyms, redact leaked PII, stop banned content and secrets.

Each channel (``content``, ``reasoning_content``, ``tool_calls.0.arguments``, ...) has its own
buffer of text not yet released. On every feed the buffer is scanned once by the compiled rule
alternation and once by the token pattern, both with *partial* matching: a match that reaches the
end of the buffer, or a prefix of a possible match there, keeps the text from its start held.
Everything before the earliest such position, outside unfinished matches, is released with its
replacements applied. So the hold-back is as short as the text allows (usually nothing, or the
few characters of a possible token or key prefix) and never longer than the longest pattern.

The PII detector is an opaque callable bounded by ``max_entity_len``. Only the structured
identifiers it finds by pattern are looked for in streams; each is one "word" of identifier
characters (Chinese numerals, and a plate's province character, included), or digit groups joined
by separators. So only the trailing word (and digit groups joined to it) is held, never more than
``max_entity_len`` characters: prose and numbers that are already complete go out at once. The
detector runs only when the released text holds a shape some pattern recognizer needs
(``holdback._IDENTIFIER_NEEDS``: an "@", seven digits joined, four in a row, letters glued to digits, a
plate's province and letter, a run of Chinese numerals ...); where what it finds leaves such a
shape unexplained it looks again with the last released characters, so that a context word
("SSN", "plate") already sent still counts. A detector that also finds names
(``detector_scans_prose``: whole answers with NER) sees all the text.

An optional ``name_detector`` (NER: names, addresses) needs context rather than a shape, so it
works clause by clause: a clause that holds a capitalized word or Chinese characters is held until
it ends (". ", "! ", "? ", "; ", a line break, or a CJK stop or comma), then the detector sees the
whole clause once (with the part of it already released, when the hint came late). Titles and
initials ("Dr. ", "J. ") do not end a clause. A clause longer than
``max_clause_len`` characters is released half a window at a time, the detector seeing the whole
held text each time, so a name across the cut is held back whole. This trades up to a clause of
delay for coverage. With ``name_holds="run"`` (a detector that decides from the words around a
name, such as the name rules) only the name in progress is held: the clause's last run of
capitalized words, until the words after it are in (the next word's first letter after function
words such as "The"; three words after any other) or the clause ends
(:mod:`policies.output.name_runs`); clauses with Chinese characters are still held whole.

Decisions are recorded only for text as it is released, so each match is counted once. Nothing
in a decision, result or exception holds matched text. How long each kind of text is held is
decided in :mod:`policies.output.holdback`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import regex

from policies.output.config import LEFT_CONTEXT, CompiledRules, ContentRule
from policies.output.holdback import (
    CLAUSE_END,
    NAME_HINT,
    Span,
    clause_hold,
    identifier_hold,
    scan_matches,
    unexplained,
    worth_scanning,
)
from policies.output.name_runs import FUNCTION_WORDS, NAME_WORD_RE, PARTICLES, name_run_hold
from policies.output.restore import RestoreTable, prepare_restore_map, token_value

__all__ = [
    "DETECTOR_CONTEXT",
    "DecisionAction",
    "FilterDecision",
    "FilterResult",
    "Span",
    "StreamFilter",
    "default_pii_token",
    "redaction_marker",
]

DecisionAction = Literal["redact", "block", "flag", "restore", "pii_redact"]

# When two findings overlap, the one with the higher rank decides what replaces the region.
_RANK = {"block": 5, "redact": 4, "pii_redact": 3, "restore": 2, "keep": 1, "flag": 0}
_REPLACING = _RANK["pii_redact"]
#: Released characters the detector sees again when a context word may matter: the recognizers
#: look up to 40 characters back for one ("SSN", "plate no.", "date of birth", "电话").
DETECTOR_CONTEXT = 48


@dataclass(frozen=True)
class FilterDecision:
    """What the filter did, aggregated per rule id and action. Never holds matched text."""

    rule_id: str
    action: DecisionAction
    count: int


@dataclass(frozen=True)
class FilterResult:
    """Text released by one ``feed``/``finish`` call (replacements applied) and the block state."""

    text: str
    blocked: bool
    block_rule: str | None

    def __repr__(self) -> str:
        # The released text is the answer itself: keep it out of logs and tracebacks by default.
        return (
            f"FilterResult(text=<{len(self.text)} chars>, blocked={self.blocked}, "
            f"block_rule={self.block_rule!r})"
        )

    __str__ = __repr__


def default_pii_token(entity_type: str) -> str:
    """The replacement for a leaked value: ``[REDACTED_<TYPE>]`` (the input step's marker)."""
    return f"[REDACTED_{entity_type}]"


def redaction_marker(rule_id: str) -> str:
    """The replacement for a ``redact`` rule's match."""
    return f"[REDACTED:{rule_id}]"


@dataclass(slots=True)
class _Item:
    start: int
    end: int
    kind: str  # key of _RANK
    replacement: str | None  # None = keep the original text
    rule_id: str


class _Channel:
    __slots__ = ("buf", "ctx", "found_to")

    def __init__(self) -> None:
        self.buf = ""  # not yet released
        self.ctx = ""  # the last released characters, as left context for look-behinds
        self.found_to = 0  # where in ctx the last value the detectors found ends: not looked at again


class StreamFilter:
    """Filters one answer, chunk by chunk, on any number of independent channels.

    ``restore_map`` (token -> original value) is given only for callers allowed to unmask;
    with ``None`` tokens stay as written. ``issued_tokens`` are all the tokens the request issued
    (restorable or not): they, and restored values, are never passed to the detector, so the
    caller's own data is not redacted again. Any other token shape is text and is scanned.
    ``detector`` finds leaked PII in a string; ``max_entity_len`` bounds the length of what it can
    find; with ``detector_scans_prose`` (it also finds names) it runs on all text, otherwise only
    on text that could hold a structured identifier. ``detector_stride`` (characters) trades a
    little more delay for fewer detector calls. ``name_detector`` finds names in clauses held
    whole (``name_holds="clause"``) or, for a detector that needs only a name's neighbouring
    words, in text held only while a name may be in progress (``"run"``).
    """

    def __init__(
        self,
        rules: CompiledRules,
        restore_map: Mapping[str, str] | None,
        detector: Callable[[str], Sequence[Span]] | None = None,
        max_entity_len: int = 0,
        pii_token: Callable[[str], str] = default_pii_token,
        detector_stride: int = 0,
        name_detector: Callable[[str], Sequence[Span]] | None = None,
        max_clause_len: int = 400,
        issued_tokens: Iterable[str] = (),
        detector_scans_prose: bool = False,
        name_holds: Literal["clause", "run"] = "clause",
    ) -> None:
        if detector_stride < 0:
            raise ValueError("detector_stride must not be negative")
        if detector is not None and max_entity_len <= 0:
            raise ValueError("max_entity_len must be positive when a detector is given")
        if name_detector is not None and max_clause_len <= 0:
            raise ValueError("max_clause_len must be positive when a name detector is given")
        self._rules = rules
        self._table: RestoreTable = prepare_restore_map(restore_map, issued_tokens)
        self._restoring = bool(restore_map)
        self._detector = detector
        self._scans_prose = detector_scans_prose
        self._pii_window = max_entity_len if detector is not None else 0
        self._pii_token = pii_token
        # With a stride, a channel is scanned only once this many characters became releasable:
        # fewer detector calls for up to ``detector_stride`` more characters of delay.
        self._stride = detector_stride if detector is not None else 0
        self._name_detector = name_detector
        self._clause_window = max_clause_len if name_detector is not None else 0
        self._by_run = name_holds == "run"
        # By run: the words of the names found so far in this answer, looked for again in later
        # text ("Reviewed Ferlin Junge ...; Junge is keen"), as the detector does within one text.
        self._name_words: set[str] = set()
        self._name_words_re: Any = None
        self._channels: dict[str, _Channel] = {}
        self._counts: dict[tuple[str, DecisionAction], int] = {}
        self._blocked = False
        self._block_rule: str | None = None
        self._groups: tuple[tuple[str, ContentRule], ...] = rules.groups

    # -------------------------------------------------------------------------- public

    @property
    def window(self) -> int:
        """The most characters a channel can hold back: the longest pattern, token or PII value."""
        matcher = self._table.matcher
        return max(
            self._rules.window,
            matcher.window if matcher is not None else 0,
            self._pii_window + self._stride,
            self._clause_window,
        )

    @property
    def decisions(self) -> list[FilterDecision]:
        """Every decision so far, one per (rule id, action), in first-seen order."""
        # A snapshot first: a detection step abandoned after a timeout may still be counting.
        counts = list(self._counts.items())
        return [FilterDecision(rule_id, action, count) for (rule_id, action), count in counts]

    @property
    def scans_names(self) -> bool:
        """True when a name detector runs on the stream."""
        return self._name_detector is not None

    @property
    def holds_clauses(self) -> bool:
        """True when names are looked for clause by clause (NER): a fed chunk may then cost
        milliseconds. By run (the name rules) a chunk costs at most a few hundred microseconds."""
        return self._name_detector is not None and not self._by_run

    @property
    def blocked(self) -> bool:
        """True once a ``block`` rule matched; every later call releases nothing."""
        return self._blocked

    def held(self, channel: str) -> int:
        """How many characters ``channel`` holds back now."""
        state = self._channels.get(channel)
        return len(state.buf) if state is not None else 0

    def feed(self, channel: str, text: str, *, last: bool = False) -> FilterResult:
        """Add ``text`` to ``channel``; return what can be released now.

        ``last``: ``text`` ends the channel (a whole answer): everything is released, the
        detectors seeing it all in one piece, as ``feed`` then ``finish`` would release it."""
        if self._blocked:
            return self._blocked_result()
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
        state.buf += text
        if last:
            return self.finish(channel)
        if not text:
            return FilterResult("", False, None)
        if self._stride and len(state.buf) - self._pii_window < self._stride:
            return FilterResult("", False, None)
        return self._process(state, final=False)

    def finish(self, channel: str) -> FilterResult:
        """The end of ``channel``: release everything it holds, replacements applied."""
        if self._blocked:
            return self._blocked_result()
        state = self._channels.pop(channel, None)
        if state is None or not state.buf:
            return FilterResult("", False, None)
        return self._process(state, final=True)

    def finish_all(self) -> dict[str, FilterResult]:
        """Finish every channel that was fed; a block on one leaves the rest unreleased."""
        return {name: self.finish(name) for name in list(self._channels)}

    # -------------------------------------------------------------------------- engine

    def _blocked_result(self) -> FilterResult:
        return FilterResult("", True, self._block_rule)

    def _process(self, state: _Channel, *, final: bool) -> FilterResult:
        text = state.ctx + state.buf
        base = len(state.ctx)
        n = len(text)
        items: list[_Item] = []
        hold = self._scan_rules(text, base, final, items)
        if self._table.matcher is not None:
            hold = min(hold, self._scan_tokens(text, base, final, items))
        block = min((it for it in items if it.kind == "block"), key=lambda it: it.start, default=None)
        cut = n
        if self._detector is not None:
            cut = self._detect(text, base, final, items, state.found_to)
        if self._name_detector is not None:
            cut = min(cut, self._detect_names(text, base, final, items, state.found_to))
        cut = max(base, min(cut, hold))
        if block is not None:
            cut = min(cut, block.start)
        cut = _settle(cut, base, items)
        released = self._render(text, base, cut, items)
        if block is not None:
            self._count(block.rule_id, "block")
            self._blocked = True
            self._block_rule = block.rule_id
            self._channels.clear()
            state.buf = state.ctx = ""
            return FilterResult(released, True, block.rule_id)
        state.buf = text[cut:]
        context = max(0, cut - LEFT_CONTEXT)
        state.ctx = text[context:cut]
        found = (it.end for it in items if it.kind == "pii_redact" and it.end <= cut)
        state.found_to = max(0, max(found, default=state.found_to) - context)
        return FilterResult(released, False, None)

    def _scan_rules(self, text: str, base: int, final: bool, items: list[_Item]) -> int:
        """Add the rule matches that more text cannot change; return where held text starts."""
        rules = self._rules
        if rules.pattern is None:
            return len(text)

        def take(m: Any) -> None:
            name, rule = self._rule_of(m)
            items.append(self._rule_item(m, name, rule, text))

        return scan_matches(rules.pattern, rules.pending, rules.window, text, base, final, take)

    def _rule_of(self, match: Any) -> tuple[str, ContentRule]:
        names = match.re.groupindex  # one rule's pattern, or the alternation of all of them
        for name, rule in self._groups:
            if name in names and match.start(name) >= 0:
                return name, rule
        raise AssertionError("match without a rule group")  # pragma: no cover

    def _rule_item(self, match: Any, name: str, rule: ContentRule, text: str) -> _Item:
        start, end = match.span()
        if rule.action == "flag":
            return _Item(start, end, "flag", None, rule.id)
        marker = redaction_marker(rule.id)
        inner = self._rules.redact_groups.get(name)
        if inner is not None and match.start(inner) >= 0:
            gs, ge = match.span(inner)
            marker = text[start:gs] + marker + text[ge:end]
        return _Item(start, end, rule.action, marker, rule.id)

    def _scan_tokens(self, text: str, base: int, final: bool, items: list[_Item]) -> int:
        matcher = self._table.matcher
        assert matcher is not None

        def take(m: Any) -> None:
            found = token_value(self._table, m)
            if found is None:
                return  # not a token this request issued: text like any other, for the detectors
            value, entity_type = found
            if value is None or not self._restoring:
                items.append(_Item(m.start(), m.end(), "keep", None, ""))
            else:
                items.append(_Item(m.start(), m.end(), "restore", value, entity_type))

        return scan_matches(matcher.pattern, matcher.pending, matcher.window, text, base, final, take)

    def _detect(self, text: str, base: int, final: bool, items: list[_Item], found_to: int) -> int:
        """Add detected values that can no longer grow; return the cut the detector allows.

        The detector looks at the text not yet released first. Where that leaves an identifier
        shape unexplained, it looks again with up to ``DETECTOR_CONTEXT`` released characters
        before it (past ``found_to``, the end of the last value found): a context word sent
        earlier ("SSN", "plate no.") still counts, and a value begun there has the rest of it
        redacted. A value found without that context (most) costs one call, as before."""
        assert self._detector is not None
        n = len(text)
        cut = n if final else identifier_hold(text, base, n, self._pii_window)
        # A structured identifier never straddles the cut (it lies at the start of the identifier
        # in progress): text about to go out without a character one needs is not scanned.
        view = self._detector_view(text, base, items, base)
        if not self._scans_prose and not worth_scanning(view, 0, cut - base):
            return cut
        offset = base
        spans = self._detector(view)
        if found_to < base and unexplained(view, cut - base, spans):
            offset = max(found_to, base - DETECTOR_CONTEXT)
            spans = self._detector(self._detector_view(text, base, items, offset))
        for span in spans:
            start, end = max(base, offset + span.start), offset + span.end
            if end <= start:
                continue  # released already
            if not final and end >= n:
                cut = min(cut, start)  # may still grow
                continue
            items.append(_Item(start, end, "pii_redact", self._pii_token(span.entity_type), span.entity_type))
        return cut

    def _detector_view(self, text: str, base: int, items: list[_Item], start: int) -> str:
        """``text[start:]`` (left context from ``start`` included) with this request's tokens,
        restored or kept, turned into spaces, so a detector never sees the caller's own values
        again."""
        context = text[start:base]
        matcher = self._table.matcher
        if context and matcher is not None:
            blanked = []
            pos = 0
            for m in matcher.pattern.finditer(context):
                if token_value(self._table, m) is not None:
                    blanked.append(context[pos : m.start()])
                    blanked.append(" " * (m.end() - m.start()))
                    pos = m.end()
            if blanked:
                context = "".join(blanked) + context[pos:]
        return context + _without_known(text, base, items)

    def _detect_names(self, text: str, base: int, final: bool, items: list[_Item], found_to: int) -> int:
        """Run the name detector once over the clauses that ended; return where held text starts.

        A clause longer than the window is released in halves: the detector then sees the whole
        held text, so a name lying across the cut is found whole and held back with what follows.
        Values the pattern detector already found are not added twice."""
        assert self._name_detector is not None
        n = len(text)
        hold = name_run_hold if self._by_run else clause_hold
        cut, forced = (n, False) if final else hold(text, base, n, self._clause_window)
        seen = n if forced else cut
        if self._by_run and not final:
            # A word still being written is not shown to the rules ("ward rou" is no name): it is
            # lower-case (a capitalized one is held), so it needs no look once it is complete.
            while seen > base and text[seen - 1].isalnum():
                seen -= 1
        if cut <= base or not NAME_HINT.search(text, base, seen):
            return cut
        # The clause the released text ended in: its start, when kept as left context, gives NER
        # the words before a name whose clause had no capital letter until now.
        # By run, the rules see all the released text kept as context (a signature's "Best
        # regards,", a question "Last name?" before a line with the name).
        clause = found_to
        if not self._by_run:
            for m in CLAUSE_END.finditer(text, found_to, min(n, base + 1)):
                clause = min(m.end(), base)
        scanned = self._detector_view(text, base, items, clause)[: seen - clause]
        found = [(it.start, it.end) for it in items if it.kind == "pii_redact"]
        for span in self._name_detector(scanned):
            start, end = max(base, clause + span.start), clause + span.end
            if self._by_run and span.entity_type == "PERSON":
                self._remember_name(scanned[span.start : span.end])
            if end <= start or start >= cut or any(s < end and start < e for s, e in found):
                continue
            if end > cut:
                cut = max(base, start)  # across a forced cut: goes out later, whole
                continue
            items.append(_Item(start, end, "pii_redact", self._pii_token(span.entity_type), span.entity_type))
            found.append((start, end))
        if self._name_words_re is not None:
            for m in self._name_words_re.finditer(text, base, cut):
                if not any(s < m.end() and m.start() < e for s, e in found):
                    items.append(_Item(m.start(), m.end(), "pii_redact", self._pii_token("PERSON"), "PERSON"))
                    found.append((m.start(), m.end()))
        return cut

    def _remember_name(self, value: str) -> None:
        """Look for the words of ``value``, a name found in this answer, in the text still to come:
        as written, capitalized or in capitals, never in lower case ("Will Brown" found, "will"
        and "brown" stay words); function words and particles not at all."""
        words = {
            form
            for word in NAME_WORD_RE.findall(value)
            if len(word) >= 3 and word.lower() not in PARTICLES and word.lower() not in FUNCTION_WORDS
            for form in (word, word[0].upper() + word[1:].lower(), word.upper())
        }
        if words <= self._name_words:
            return
        self._name_words |= words
        alternatives = "|".join(regex.escape(w) for w in sorted(self._name_words, key=len, reverse=True))
        self._name_words_re = regex.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")

    def _render(self, text: str, base: int, cut: int, items: list[_Item]) -> str:
        """``text[base:cut]`` with replacements; records a decision for each finding released."""
        chosen = sorted((it for it in items if it.end <= cut and it.start >= base), key=lambda it: it.start)
        out: list[str] = []
        pos = base
        i = 0
        while i < len(chosen):
            group = [chosen[i]]
            end = chosen[i].end
            i += 1
            while i < len(chosen) and chosen[i].start < end:
                group.append(chosen[i])
                end = max(end, chosen[i].end)
                i += 1
            start = group[0].start
            out.append(text[pos:start])
            top = max(group, key=lambda it: _RANK[it.kind])
            if _RANK[top.kind] >= _REPLACING:
                out.append(top.replacement or "")
            else:
                p = start
                for it in group:
                    if it.replacement is not None and it.start >= p:
                        out.append(text[p : it.start])
                        out.append(it.replacement)
                        p = it.end
                out.append(text[p:end])
            for it in group:
                if it.kind != "keep" and it.kind != "block":
                    self._count(it.rule_id, it.kind)  # type: ignore[arg-type]
            pos = end
        out.append(text[pos:cut])
        return "".join(out)

    def _count(self, rule_id: str, action: DecisionAction) -> None:
        key = (rule_id, action)
        self._counts[key] = self._counts.get(key, 0) + 1


def _without_known(text: str, base: int, items: list[_Item]) -> str:
    """``text[base:]`` with this request's tokens (restored or kept) and the matches a rule replaces
    whole turned into spaces, offsets unchanged: a detector never sees the caller's own values
    again, nor spends time on a secret that goes out as a marker anyway."""
    hidden = sorted(
        (
            it
            for it in items
            if it.kind in ("restore", "keep")
            or (it.kind == "redact" and it.replacement == redaction_marker(it.rule_id))
        ),
        key=lambda it: it.start,
    )
    if not hidden:
        return text[base:]
    parts: list[str] = []
    pos = base
    for it in hidden:
        start = max(pos, it.start)
        if it.end <= start:
            continue
        parts.append(text[pos:start])
        parts.append(" " * (it.end - start))
        pos = it.end
    parts.append(text[pos:])
    return "".join(parts)


def _settle(cut: int, base: int, items: list[_Item]) -> int:
    """Move ``cut`` back until no finding straddles it."""
    moved = True
    while moved:
        moved = False
        for it in items:
            if it.start < cut < it.end:
                cut = max(base, it.start)
                moved = True
    return cut
