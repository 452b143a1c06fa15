"""Whether spaCy's NER could change the names found in a text: the gate that lets detection skip it.

The model can only add or change a name where a capitalized word is that the name rules and word
lists do not already explain. "Please call John Smith" needs no model: "Please" is an English word
and "John Smith" a name the rules find at a score every profile redacts, so the model's PERSON
span there would change no redaction. "Dr. Xiu Okonkwo-Reyes" needs it ("Xiu" is in no list), and
so does "Dr. Justin Beet": a common word after a name part may end the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

from policies.pii.names_lexicons import WORD
from policies.pii.names_tokens import SCORE_CONTEXT, SCORE_STRONG, Token

# What the gate calls capitalized: an upper-case letter before a lower-case one, any script.
CAPITALIZED_RE = regex.compile(r"\p{Lu}\p{Ll}")


@dataclass(frozen=True, slots=True)
class RuleNames:
    """The names the rules found without the model, (start, end, score) each, and whether the
    model's entities could change them."""

    names: list[tuple[int, int, float]]
    needs_model: bool


#: Text without a capitalized word: the model is not run, the rules find their names as always.
NO_MODEL_NEEDED = RuleNames([], needs_model=False)


class RuleNamesArtifacts(NlpArtifacts):
    """Artifacts of a text the model did not read, carrying the names the rules already found in
    it, so that ``PersonNameRecognizer.analyze`` does not find them again."""

    def __init__(self, names: list[tuple[int, int, float]], nlp_engine: NlpEngine) -> None:
        super().__init__([], None, [], [], nlp_engine, "en")  # type: ignore[arg-type]
        self.names = names


def explained_score(min_scores: Iterable[float]) -> float:
    """The lowest score at which a name the rules find is redacted by every profile whatever the
    model says (profiles redacting from ``min_scores``; the model scores its names 0.85)."""
    return SCORE_CONTEXT if max(min_scores, default=SCORE_STRONG) <= SCORE_CONTEXT else SCORE_STRONG


def needs_model(
    text: str, tokens: Sequence[Token], names: Sequence[tuple[int, int, float]], explained: float
) -> bool:
    """Whether a capitalized token of ``text`` is not only an English word, a clinical term or a
    cue word ("Please", "Metformin", "Patient"), or follows a capitalized name part, and lies
    outside every one of ``names`` scored ``explained`` or more."""
    spans = [(start, end) for start, end, score in names if score >= explained]
    for i, token in enumerate(tokens):
        if not CAPITALIZED_RE.search(token.text):
            continue
        if token.flags == WORD and not (
            i
            and tokens[i - 1].flags != WORD
            and CAPITALIZED_RE.search(tokens[i - 1].text) is not None
            and text[tokens[i - 1].end : token.start] == " "
        ):
            continue
        if not any(start <= token.start and token.end <= end for start, end in spans):
            return True
    return False
