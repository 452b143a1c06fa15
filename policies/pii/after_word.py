"""Identifiers found only right after the word that names them ("account 483920117", "passport
no. X12345678", "MRN: 1234567"): their shapes are any code's, so the word is the evidence. Only
filler ("number", "no.", "#", "is", ":", "ID", "on file to") may stand between word and value, so
"account for 3 days" or "policy changes in 2024" hold no identifier."""

from __future__ import annotations

from collections.abc import Callable

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.context import ContextWords
from policies.pii.recognizer_base import RuleRecognizer

FILLER_RE = regex.compile(
    r"[\s:#.,(\-=]*(?:(?:no|nr|num|number|numbers|id|is|was|are|reads|of|card|ending|ending\s+in|#"
    r"|on\s+file(?:\s+(?:is|as|to))?|to|as|now"
    r"|号码|号|是|为)(?![A-Za-z])[\s:#.,(\-=]*){0,3}",
    regex.IGNORECASE,
)
# A date with its year in full (20240305, 05-03-2024, 1985.07.09): a sort code (20-45-77) has none.
DATE_LIKE_RE = regex.compile(
    r"(?:19|20)\d{2}[01]\d[0-3]\d|\d{1,2}[ .\-/]\d{1,2}[ .\-/](?:19|20)\d{2}|(?:19|20)\d{2}[ .\-/]\d{1,2}[ .\-/]\d{1,2}"
)


class AfterWordRecognizer(RuleRecognizer):
    """Values of ``shape`` right after one of ``words`` (with only filler between) that ``accepts``
    takes, at ``SCORE``. Subclasses set the entity type, words, shape and check."""

    SCORE = 0.85
    words: ContextWords
    shape: regex.Pattern[str]
    accepts: Callable[[str], bool]

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self.entity_type not in entities or not self.words.anywhere(text):
            return []
        results: list[RecognizerResult] = []
        for word_end in self.words.ends(text):
            start = FILLER_RE.match(text, word_end).end()
            match = self.shape.match(text, start)
            if match is not None and type(self).accepts(match.group(0)):
                results.append(RecognizerResult(self.entity_type, match.start(), match.end(), self.SCORE))
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
    if len(alnum) - len(digits) > max_letters or len(set(digits)) == 1 and len(digits) == len(alnum):
        return False
    return dates or not DATE_LIKE_RE.fullmatch(value)
