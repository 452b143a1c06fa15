"""Rule-by-rule scanning gives exactly the single alternation's matches and hold-back points."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import regex
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from policies.output.config import NEVER_CHAR, compile_rules_for_role, parse_output_policy
from policies.output.holdback import scan_matches
from policies.output.multipattern import SPLIT_FROM, PendingAlternation, RuleAlternation, split_rules

DEFAULTS = Path(__file__).resolve().parents[3] / "policies" / "defaults" / "output.yaml"

# Site rules beside the defaults: overlapping alternatives, a redacted group, equal starts.
SITE_RULES = [
    r"(?P<r0>(?i:(?<!\w)guaranteed\s{1,4}returns(?!\w)))",
    r"(?P<r1>guaranteed)",
    r"(?P<r2>acct[ -]?(?P<r2_n>\d{4,8}))",
    r"(?P<r3>\d{6})",
    r"(?P<r4>sk-[A-Za-z0-9_-]{4,12})",
]

FRAGMENTS = [
    "sk-",
    "sk-proj-",
    "gw_",
    "AKIA",
    "ASIA",
    "ghp_",
    "github_pat_",
    "eyJ",
    ".",
    "postgres://",
    "user:",
    "@",
    "host",
    "-----BEGIN ",
    "PRIVATE KEY-----",
    "guaranteed",
    " ",
    "  ",
    "returns",
    "cure",
    "risk-free",
    "investment",
    "保证收益",
    "稳赚",
    "不赔",
    "acct",
    "acct ",
    "12345678",
    "9",
    "abcdefghij",
    "ABCDEFGHIJKLMNOP",
    "_",
    "-",
    "\n",
    "x",
    "Q",
    "synthesize sarin",
    "制造炸弹",
    # Whole values, so that rules meeting at one start (and overlapping ones) are common.
    "guaranteed returns",
    "Guaranteed  Returns",
    "acct 123456",
    "sk-abcdEFGH1234",
    "123456",
]

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


def _service_rules() -> Any:
    return compile_rules_for_role(parse_output_policy(yaml.safe_load(DEFAULTS.read_text()), "t"), ["service"])


def _default_sources() -> list[str]:
    rules = _service_rules()
    return [f"(?P<{name}>{rule.pattern})" for name, rule in rules.groups]


def _both(sources: list[str]) -> tuple[Any, Any, RuleAlternation, PendingAlternation]:
    joined = "|".join(sources)
    split = split_rules(sources, NEVER_CHAR)
    assert split is not None
    return regex.compile(joined), regex.compile(f"(?:{joined}){NEVER_CHAR}"), *split


def _found(matches: Any) -> list[tuple[tuple[int, int], dict[str, tuple[int, int]]]]:
    out = []
    for m in matches:
        groups = {name: m.span(name) for name in m.re.groupindex if m.start(name) >= 0}
        out.append((m.span(), groups))
    return out


SETS = {"defaults": _default_sources(), "site": SITE_RULES}


# Two rules matching at one start (the earlier wins), and a match that overlaps the next rule's.
TIE = "see guaranteed returns, acct 12345678 and sk-abcdEFGH1234 here"


@settings(max_examples=300, deadline=None)
@given(text=texts, which=st.sampled_from(sorted(SETS)), pos=st.integers(0, 12))
@example(text=TIE, which="site", pos=0)
def test_matches_are_the_alternations(text: str, which: str, pos: int) -> None:
    joined, _pending, split, _split_pending = _both(SETS[which])
    pos = min(pos, len(text))
    assert _found(split.finditer(text, pos)) == _found(joined.finditer(text, pos))


@settings(max_examples=300, deadline=None)
@given(text=texts, which=st.sampled_from(sorted(SETS)))
@example(text=TIE, which="site")
def test_partial_search_starts_where_the_alternations_does(text: str, which: str) -> None:
    _joined, pending, _split, split_pending = _both(SETS[which])
    for pos in range(len(text) + 1):
        expected = pending.search(text, pos, partial=True)
        got = split_pending.search(text, pos, partial=True)
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got.start() == expected.start()


@settings(max_examples=200, deadline=None)
@given(text=texts, which=st.sampled_from(sorted(SETS)), final=st.booleans(), window=st.integers(1, 60))
@example(text=TIE, which="site", final=True, window=30)
def test_hold_back_is_the_alternations(text: str, which: str, final: bool, window: int) -> None:
    joined, pending, split, split_pending = _both(SETS[which])
    taken_joined: list[Any] = []
    taken_split: list[Any] = []
    held_joined = scan_matches(joined, pending, window, text, 0, final, taken_joined.append)
    held_split = scan_matches(split, split_pending, window, text, 0, final, taken_split.append)
    assert held_split == held_joined
    assert _found(taken_split) == _found(taken_joined)


def test_rules_that_can_match_nothing_keep_the_single_alternation() -> None:
    assert split_rules([r"(?P<r0>a*)", r"(?P<r1>b+)"], NEVER_CHAR) is None
    assert split_rules([r"(?P<r0>(?=x))"], NEVER_CHAR) is None
    # Syntax the stdlib cannot read (its width is unknown): kept whole too.
    assert split_rules([r"(?P<r0>\p{Han}{2,4})"], NEVER_CHAR) is None
    assert split_rules([], NEVER_CHAR) is None


def test_default_rules_are_scanned_rule_by_rule() -> None:
    rules = _service_rules()
    assert isinstance(rules.pattern, RuleAlternation)
    assert isinstance(rules.pending, PendingAlternation)


def test_a_few_characters_are_scanned_with_the_single_alternation() -> None:
    # Per chunk of a stream the one alternation is cheaper than a search per rule (SPLIT_FROM).
    split = split_rules(SITE_RULES, NEVER_CHAR)
    assert split is not None
    matcher, pending = split
    short = "x" * (SPLIT_FROM - 1)
    assert not inspect.isgenerator(matcher.finditer(short, 0))
    assert inspect.isgenerator(matcher.finditer(short + "y", 0))
    found = pending.search(short, 0, partial=True)  # only the end, where any rule may still begin
    assert found is not None and found.start() == len(short)
