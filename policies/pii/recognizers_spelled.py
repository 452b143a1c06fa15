"""Numbers spelled out digit by digit ("my social is five three six, two two, one two three four";
"call oh seven seven double oh nine..."), as a caller reads a number aloud or writes it to slip
past a filter. Normalization reads digits of every script and Chinese numerals, but words are not
characters: this recognizer reads runs of English digit words (zero, oh, one ... nine, "double"
and "triple" before one), digits among them, of seven digits or more.

A run is reported whole as ``US_SSN`` (nine digits next to an SSN word), ``CREDIT_CARD`` (13-19
digits with a valid Luhn check) or ``PHONE_NUMBER`` (any other: over-redacting a spelled-out number
is cheap, and seven digits read one by one are an identifier, not prose); counting up or down
("one two three four five six seven eight") is prose.
"""

from __future__ import annotations

import itertools

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.checksums import is_luhn_valid
from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_en import SSN_CONTEXT

_WORD_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_REPEAT = {"double": 2, "triple": 3}
_WORDS = "|".join(_WORD_DIGITS)
_DIGIT_WORD = rf"(?:(?:double|triple)[ \t]+)?(?:{_WORDS})|\d+"
_SEP = r"[ \t,.\-–—/]{1,3}"
_RUN_RE = regex.compile(
    rf"(?<![A-Za-z0-9])(?:{_DIGIT_WORD})(?:{_SEP}(?:{_DIGIT_WORD})){{3,}}(?![A-Za-z0-9])", regex.IGNORECASE
)
_TOKEN_RE = regex.compile(_DIGIT_WORD, regex.IGNORECASE)
# A cheap first test: two digit words in a row.
_HINT_RE = regex.compile(rf"(?<![A-Za-z])(?:{_WORDS}){_SEP}(?:double|triple|{_WORDS}|\d)", regex.IGNORECASE)
MIN_DIGITS = 7
SCORE = 0.85
PHONE_SCORE = 0.7


def spelled_digits(run: str) -> tuple[str, int]:
    """The digits a run of digit words and digits stands for, and how many of its tokens were words."""
    digits: list[str] = []
    words = 0
    for token in _TOKEN_RE.findall(run):
        if token.isdigit():
            digits.append(token)
            continue
        words += 1
        parts = token.lower().split()
        count = _REPEAT[parts[0]] if len(parts) == 2 else 1
        digits.append(_WORD_DIGITS[parts[-1]] * count)
    return "".join(digits), words


def is_counting(digits: str) -> bool:
    """Counting up or down ("one two three four five six seven eight"), not a number."""
    steps = {int(b) - int(a) for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {-1})


class SpelledDigitsRecognizer(RuleRecognizer):
    """Runs of English digit words of seven digits or more (see the module doc)."""

    def __init__(self) -> None:
        super().__init__(("PHONE_NUMBER", "US_SSN", "CREDIT_CARD"))

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not _HINT_RE.search(text):
            return []
        results: list[RecognizerResult] = []
        for match in _RUN_RE.finditer(text):
            digits, words = spelled_digits(match.group(0))
            if words < 2 or len(digits) < MIN_DIGITS or is_counting(digits):
                continue  # digits alone are normalization's; a short count or counting is prose
            entity, score = "PHONE_NUMBER", PHONE_SCORE
            if len(digits) == 9 and SSN_CONTEXT.near(text, match.start(), match.end()):
                entity, score = "US_SSN", SCORE
            elif 13 <= len(digits) <= 19 and is_luhn_valid(digits):
                entity, score = "CREDIT_CARD", SCORE
            if entity in entities:
                results.append(RecognizerResult(entity, match.start(), match.end(), score))
        return results
