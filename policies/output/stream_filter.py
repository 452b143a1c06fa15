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
(``_IDENTIFIER_NEEDS``: an "@", seven digits joined, four in a row, letters glued to digits, a
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
delay for coverage.

Decisions are recorded only for text as it is released, so each match is counted once. Nothing
in a decision, result or exception holds matched text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import regex

from policies.output.config import LEFT_CONTEXT, CompiledRules, ContentRule
from policies.output.restore import RestoreTable, prepare_restore_map, token_value

DecisionAction = Literal["redact", "block", "flag", "restore", "pii_redact"]

# When two findings overlap, the one with the higher rank decides what replaces the region.
_RANK = {"block": 5, "redact": 4, "pii_redact": 3, "restore": 2, "keep": 1, "flag": 0}
_REPLACING = _RANK["pii_redact"]
#: Released characters the detector sees again when a context word may matter: the recognizers
#: look up to 40 characters back for one ("SSN", "plate no.", "date of birth", "电话").
DETECTOR_CONTEXT = 48


class Span(Protocol):
    """A detected value: entity type and half-open offsets in the text given to the detector."""

    @property
    def entity_type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


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


def _scan(
    pattern: Any, pending: Any, window: int, text: str, base: int, final: bool, take: Callable[[Any], None]
) -> int:
    """Pass each match of ``pattern`` that more text cannot change to ``take``; return where the
    held text starts (``len(text)`` when nothing needs holding).

    ``pending`` is ``pattern`` followed by a character that never occurs, searched with partial
    matching: its leftmost partial match is the earliest place where a match could still reach
    past the end of the text (a prefix of a match, or a match that could grow or be changed by
    what follows). A match starting before that place ends within the text and is final.
    """
    n = len(text)
    if final:
        for m in pattern.finditer(text, base):
            take(m)
        return n
    # A possible match longer than the window is longer than its rule declared: not held for.
    floor = n - window

    def held_from(pos: int) -> int:
        p = pending.search(text, pos, partial=True)
        return n if p is None else max(p.start(), floor, pos)

    hold = held_from(base)
    for m in pattern.finditer(text, base):
        if m.start() >= hold:
            break
        take(m)
        if m.end() > hold:
            # The possible match began inside this final one: look again after it.
            hold = held_from(m.end())
    return hold


class StreamFilter:
    """Filters one answer, chunk by chunk, on any number of independent channels.

    ``restore_map`` (token -> original value) is given only for callers allowed to unmask;
    with ``None`` tokens stay as written. ``issued_tokens`` are all the tokens the request issued
    (restorable or not): they, and restored values, are never passed to the detector, so the
    caller's own data is not redacted again. Any other token shape is text and is scanned.
    ``detector`` finds leaked PII in a string; ``max_entity_len`` bounds the length of what it can
    find; with ``detector_scans_prose`` (it also finds names) it runs on all text, otherwise only
    on text that could hold a structured identifier. ``detector_stride`` (characters) trades a
    little more delay for fewer detector calls.
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
        """True when a name detector (NER) runs: a fed chunk may then cost milliseconds."""
        return self._name_detector is not None

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

        return _scan(rules.pattern, rules.pending, rules.window, text, base, final, take)

    def _rule_of(self, match: Any) -> tuple[str, ContentRule]:
        for name, rule in self._groups:
            if match.start(name) >= 0:
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

        return _scan(matcher.pattern, matcher.pending, matcher.window, text, base, final, take)

    def _detect(self, text: str, base: int, final: bool, items: list[_Item], found_to: int) -> int:
        """Add detected values that can no longer grow; return the cut the detector allows.

        The detector looks at the text not yet released first. Where that leaves an identifier
        shape unexplained, it looks again with up to ``DETECTOR_CONTEXT`` released characters
        before it (past ``found_to``, the end of the last value found): a context word sent
        earlier ("SSN", "plate no.") still counts, and a value begun there has the rest of it
        redacted. A value found without that context (most) costs one call, as before."""
        assert self._detector is not None
        n = len(text)
        cut = n if final else _identifier_hold(text, base, n, self._pii_window)
        # A structured identifier never straddles the cut (it lies at the start of the identifier
        # in progress): text about to go out without a character one needs is not scanned.
        view = self._detector_view(text, base, items, base)
        if not self._scans_prose and not _worth_scanning(view, 0, cut - base):
            return cut
        offset = base
        spans = self._detector(view)
        if found_to < base and _unexplained(view, cut - base, spans):
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
        cut, forced = (n, False) if final else _clause_hold(text, base, n, self._clause_window)
        seen = n if forced else cut
        if cut <= base or not _NAME_HINT.search(text, base, seen):
            return cut
        # The clause the released text ended in: its start, when kept as left context, gives NER
        # the words before a name whose clause had no capital letter until now.
        clause = found_to
        for m in _CLAUSE_END.finditer(text, found_to, min(n, base + 1)):
            clause = min(m.end(), base)
        scanned = self._detector_view(text, base, items, clause)[: seen - clause]
        found = [(it.start, it.end) for it in items if it.kind == "pii_redact"]
        for span in self._name_detector(scanned):
            start, end = max(base, clause + span.start), clause + span.end
            if end <= start or start >= cut or any(s < end and start < e for s, e in found):
                continue
            if end > cut:
                cut = max(base, start)  # across a forced cut: goes out later, whole
                continue
            items.append(_Item(start, end, "pii_redact", self._pii_token(span.entity_type), span.entity_type))
        return cut

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


def filter_text(
    rules: CompiledRules,
    restore_map: Mapping[str, str] | None,
    text: str,
    detector: Callable[[str], Sequence[Span]] | None = None,
    max_entity_len: int = 0,
    pii_token: Callable[[str], str] = default_pii_token,
    channel: str = "content",
) -> tuple[str, list[FilterDecision], bool]:
    """Filter a whole (non-streaming) text through the same pipeline: (text, decisions, blocked).

    When blocked, the text returned is empty.
    """
    filt = StreamFilter(
        rules, restore_map, detector, max_entity_len or (len(text) + 1 if detector else 0), pii_token
    )
    released = filt.feed(channel, text, last=True).text
    if filt.blocked:
        return "", filt.decisions, True
    return released, filt.decisions, False


# Whether text could hold (the rest of) a structured identifier, derived from what the pattern
# recognizers match (policies/pii; the detector reads digits of every script as ASCII, joins digit
# groups split by up to three separators or a slash, and reads runs of Chinese numerals as digits):
_CN_NUMERALS = "〇零一幺二三四五六七八九壹贰叁肆伍陆柒捌玖"
_CN_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# What may stand between two digits that normalization joins: up to three separators (spaces of
# any width, dots, dashes, minus signs) or a slash or two, plus invisible characters it removes.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u3164\ufeff\uffa0"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f"
)
_JOIN = rf"(?:[\s.\\\-\u2010-\u2015\u2212{_INVISIBLE}]{{0,6}}|/{{1,2}})"
_IDENTIFIER_NEEDS = re.compile(
    "|".join(
        (
            r"[@\uff20]",  # e-mail addresses
            # seven digits joined: phones, cards, SSNs, ID, passport, account and record numbers,
            # IBANs; four in a row: the year of a date of birth ("4 March 1975"), a plate's group
            rf"\d(?:{_JOIN}\d){{6}}|\d{{4}}",
            r"\d{1,3}(?:\.\d{1,3}){3}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}",  # IPv4 addresses, numeric dates
            # letters (any script) glued to digits in a word of four or more: US plates (7ABC123),
            # passports, house numbers in Chinese addresses (建国路88号)
            r"(?<![^\W_])(?=[^\W_]{4})[^\W_]*?(?:[^\W\d_]\d|\d[^\W\d_])",
            # a plate in two groups, letters then digits or digits then letters: KXR 482, 123-ABC
            r"(?<![A-Za-z0-9])[A-Z]{1,4}[ \-\u00b7\u2022]\d|\d[ \-\u00b7\u2022][A-Z]{1,5}(?![A-Za-z0-9])",
            rf"[{_CN_PROVINCE_CHARS}][A-Za-z\uff21-\uff3a\uff41-\uff5a]",  # mainland plates: 沪A7K3M2
            r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]",  # IPv6 addresses
            # phone numbers in Chinese numerals
            rf"[{_CN_NUMERALS}](?:{_JOIN}[{_CN_NUMERALS}\d]){{6}}",
        )
    )
)
# Site patterns that match none of these, and lone numbers of one to three digits ("300 mg",
# "day 3"), which no recognizer reports, are therefore not looked for in streamed output.
# Every shape above holds one of these characters: a cheap first test for the common case, prose.
_IDENTIFIER_CHAR = re.compile(f"[\\d@\\uff20{_CN_NUMERALS}{_CN_PROVINCE_CHARS}]")

# What an identifier in progress is made of: ASCII and full-width Latin letters, digits of any
# script, Chinese numerals, the characters of e-mails and IDs, a plate's middle dot, and the
# invisible characters normalization removes.
_IDENTIFIER_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-@()#/"
    "\u00b7\u2022\u30fb\uff20\u200b\u200c\u200d\u2060\ufeff"
    + "".join(chr(c) for c in range(0xFF21, 0xFF3B))
    + "".join(chr(c) for c in range(0xFF41, 0xFF5B))
    + _CN_NUMERALS
)
_LATIN_LETTERS = frozenset(ch for ch in _IDENTIFIER_CHARS if ch.isalpha() and ch not in _CN_NUMERALS)
# The province (or municipality) character that starts a mainland plate: 沪A7K3M2.
_CN_PLATE_PROVINCES = frozenset(_CN_PROVINCE_CHARS)
# Digit groups may be separated by up to three of these ("415 555 0132", "4111-1111 1111",
# "536–22–1234", "536 - 22 - 1234"), as normalization joins them.
_GROUP_SEPARATORS = frozenset(" \t-.\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_MAX_SEPARATORS = 3


def _worth_scanning(text: str, start: int, end: int) -> bool:
    """Could ``text[start:end]`` hold (the rest of) a structured identifier at all?"""
    if _IDENTIFIER_CHAR.search(text, start, end) is None:
        return False
    return _IDENTIFIER_NEEDS.search(text, start, end) is not None


def _unexplained(view: str, end: int, spans: Sequence[Span]) -> bool:
    """Whether ``view[:end]`` has an identifier shape outside every span found in ``view``: then a
    context word before it might change what is found."""
    for m in _IDENTIFIER_NEEDS.finditer(view, 0, end):
        if not any(span.start < m.end() and m.start() < span.end for span in spans):
            return True
    return False


def _digitish(ch: str) -> bool:
    return ch.isdigit() or ch in _CN_NUMERALS


def _identifier_hold(text: str, base: int, n: int, window: int) -> int:
    """Where text that may still grow into a detectable identifier starts.

    The trailing word (letters, digits and the characters of e-mails and IDs, with the province
    character before a plate) may still grow, and so may groups before it that separators join to
    it: digit groups ("415 555 " + "0132"), a plate's first group ("KXR " + "4821"), a mainland
    plate's province and letter ("粤B " + "D12345"). Everything before that run is released at
    once, and never more than ``window`` characters are held.
    """
    floor = max(base, n - window)
    position = _word_start(text, n, floor)
    while True:
        gap = position
        while gap > floor and position - gap < _MAX_SEPARATORS and text[gap - 1] in _GROUP_SEPARATORS:
            gap -= 1
        if gap == position or gap <= floor:
            break
        if not (position == n or _digitish(text[position]) or text[position] == "("):
            break
        before = _word_start(text, gap, floor)
        if not (
            _digitish(text[gap - 1]) or text[gap - 1] == ")" or _plate_group(text[before:gap], position - gap)
        ):
            break
        position = before
    head = position - 1 if position > floor and text[position - 1] in " -" else position
    if head - 2 >= floor and text[head - 1] in _LATIN_LETTERS and text[head - 2] in _CN_PLATE_PROVINCES:
        position = head - 2
    return position


def _plate_group(group: str, separators: int) -> bool:
    """The first group of a plate written in two ("KXR 4821"): one to four capitals and digits
    followed by a single separator."""
    return (
        separators == 1
        and 1 <= len(group) <= 4
        and all(ch.isascii() and (ch.isupper() or ch.isdigit()) for ch in group)
    )


def _word_start(text: str, position: int, floor: int) -> int:
    end = position
    while position > floor and (text[position - 1] in _IDENTIFIER_CHARS or text[position - 1].isdigit()):
        position -= 1
    if (
        position > floor
        and text[position - 1] in _CN_PLATE_PROVINCES
        and (position == end == len(text) or (position < end and text[position] in _LATIN_LETTERS))
    ):
        position -= 1  # 沪 + A7K3M2: the plate starts at the province character
    return position


# Where a clause ends for the name detector: sentence punctuation followed by a space (not after a
# title or a single initial), or a line break, or CJK sentence punctuation and commas.
_CLAUSE_END = re.compile(
    r"(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bMx)(?<!\bProf)(?<!\bSt)(?<!\b[A-Z])[.!?;](?=\s)"
    r"|\n|[\u3002\uff01\uff1f\uff1b\uff0c\u3001]"
)
# A clause needs NER only if it could hold a name: an upper-case letter of any script (full-width
# and accented ones included) or a Han ideograph (any block, the supplementary planes' too).
_NAME_HINT = regex.compile(r"[\p{Lu}\p{Lt}\p{Han}]")
_SPACE = re.compile(r"\s")


def _clause_hold(text: str, base: int, n: int, window: int) -> tuple[int, bool]:
    """Where the clause still open at the end of ``text`` starts, if it could hold a name, and
    whether that is a forced cut.

    A clause with no name hint yet is not held (text added later is held from where it starts).
    A clause longer than ``window`` is cut at the first whitespace past the middle of the window
    (or at the middle, in text without spaces): forced, and the detector then sees past the cut."""
    start = base
    for m in _CLAUSE_END.finditer(text, base, n):
        start = m.end()
    if not _NAME_HINT.search(text, start, n):
        return n, False
    if n - start <= window:
        return start, False
    middle = n - window // 2
    space = _SPACE.search(text, middle, n)
    return (space.end() if space else middle), True
