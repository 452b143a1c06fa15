"""Identifiers found only right after the word that names them ("account 483920117", "passport
no. X12345678", "MRN: 1234567"): their shapes are any code's, so the word is the evidence. Only
filler ("number", "no.", "#", "is", ":", "ID", "on file to", a few words in brackets: "(UK)") may
stand between word and value, so
"account for 3 days" or "policy changes in 2024" hold no identifier.

Each kind (``AfterWord``: an entity type, its words, the value's shape and a check) is declared
next to its relatives; one ``AfterWordRecognizer`` looks for the words of every kind in one scan
of the text, so a text that names none of them costs one search, however many kinds there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

# A few words in brackets, no digit: "passport (UK) is", "account (savings):", "MRN (Epic)".
_BRACKETED = r"\([^\W\d_][^()\d]{0,23}\)"
# Separators, and an opening bracket that opens no such words ("account (no. 483920117)").
_SEPARATORS = r"(?:[\s:#.,\-=]|\((?!" + _BRACKETED[2:] + r"))*"
FILLER_RE = regex.compile(
    _SEPARATORS + r"(?:(?:(?:no|nr|num|number|numbers|id|is|was|are|reads|of|card|ending|ending\s+in|#"
    r"|on\s+file(?:\s+(?:is|as|to))?|to|as|now"
    r"|号码|号|是|为)(?![A-Za-z])|" + _BRACKETED + ")" + _SEPARATORS + "){0,3}",
    regex.IGNORECASE,
)
# A date with its year in full (20240305, 05-03-2024, 1985.07.09): a sort code (20-45-77) has none.
DATE_LIKE_RE = regex.compile(
    r"(?:19|20)\d{2}[01]\d[0-3]\d"
    r"|\d{1,2}[ .\-/]\d{1,2}[ .\-/](?:19|20)\d{2}"
    r"|(?:19|20)\d{2}[ .\-/]\d{1,2}[ .\-/]\d{1,2}"
)
SCORE = 0.85


@dataclass(frozen=True)
class AfterWord:
    """One kind of identifier: reported as ``entity_type`` where a value of ``shape`` that
    ``accepts`` takes stands right after one of ``words``, only filler between."""

    entity_type: str
    words: tuple[str, ...]
    shape: regex.Pattern[str]
    accepts: Callable[[str], bool]


class AfterWordRecognizer(RuleRecognizer):
    """Every ``AfterWord`` kind at once, at 0.85: one scan for all their words, then the filler and
    the value's shape after each word found, for each kind that word names."""

    def __init__(self, kinds: Sequence[AfterWord]) -> None:
        self._kinds = tuple(kinds)
        self._words = ContextWords([word for kind in self._kinds for word in kind.words])
        by_word: dict[str, list[AfterWord]] = {}
        for kind in self._kinds:
            for word in kind.words:
                by_word.setdefault(word.lower(), []).append(kind)
        self._by_word = {word: tuple(found) for word, found in by_word.items()}
        super().__init__(tuple(dict.fromkeys(kind.entity_type for kind in self._kinds)))

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for word_start, word_end in self._words.spans(text):
            start = FILLER_RE.match(text, word_end).end()
            for kind in self._by_word.get(text[word_start:word_end].lower(), ()):
                if kind.entity_type not in entities:
                    continue
                match = kind.shape.match(text, start)
                if match is not None and kind.accepts(match.group(0)):
                    results.append(RecognizerResult(kind.entity_type, match.start(), match.end(), SCORE))
        return results


def letters_and_digits(
    value: str, *, chars: tuple[int, int], min_digits: int, max_letters: int, dates: bool = False
) -> bool:
    """Whether ``value`` has ``chars`` (least, most) letters and digits, at least ``min_digits``
    digits and at most ``max_letters`` letters, and is not one digit repeated, nor (unless
    ``dates``) a full date."""
    alnum = [ch for ch in value if ch.isalnum()]
    digits = [ch for ch in alnum if ch.isdigit()]
    if not chars[0] <= len(alnum) <= chars[1] or len(digits) < min_digits:
        return False
    if len(alnum) - len(digits) > max_letters or (len(set(digits)) == 1 and len(digits) == len(alnum)):
        return False
    return dates or not DATE_LIKE_RE.fullmatch(value)
