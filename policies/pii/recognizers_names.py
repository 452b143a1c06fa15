"""English person names beyond what the small spaCy model finds.

The model tags many names ORG or GPE, or misses them, in plain clinical and banking templates, in
ALL CAPS, in lower case, and with digits for letters (``M4ria G0nzalez``). ``PersonNameRecognizer``
finds them with first-name and surname lexicons built from public-domain lists (US Census 1990 and
2010, SSA baby names: ``policies/pii/data/README.md``) and rules that hold in any casing:

- a first name followed by a surname ("Maria Gonzalez", "john smith", "GONZALEZ, MARIA");
- a title, a person word or a relation before the name ("Dr. Adeyemi", "patient oluwaseun
  adebayo", "her daughter Ana"), or a personal detail after it ("..., DOB", "'s account", ", MD");
- the model's ORG/GPE/NORP spans made of name-like words with one lexicon name in them.

Names that are also common words ("Will", "Grant", "Rose", "Brown", "Long") count only with a
second name part that is not, or with a context word. Words known to be clinical or banking terms,
ordinary English words, eponyms ("Smith fracture", "Parkinson's disease") and places or
institutions named after people ("St. Jude", "Johns Hopkins Hospital") are not names.

The parts: :mod:`policies.pii.names_lexicons` (lexicons, word classes), :mod:`policies.pii.names_context`
(cue words and context patterns), :mod:`policies.pii.names_tokens` (tokens and shared span rules),
:mod:`policies.pii.names_lists` (lists, dialogue speakers, repeated mentions),
:mod:`policies.pii.names_pseudonyms` (name parts next to the gateway's own ``[PERSON_n]`` tokens).
"""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.names_context import (
    AND_OR_RE,
    BY_BEFORE_RE,
    CALLER_BEFORE_RE,
    DETAIL_AFTER_RE,
    FUNCTION_WORDS,
    INTRO_AFTER_RE,
    INTRO_BEFORE_RE,
    JOIN_RE,
    LINE_END_AFTER_RE,
    LINE_START_RE,
    NAME_LABEL_BEFORE_RE,
    NAME_PARTICLES,
    NAME_PLACEHOLDERS,
    OWNED_RE,
    PERSON_BEFORE_RE,
    PLACE_PREPOSITION_RE,
    SENTENCE_START_RE,
    THE_BEFORE_RE,
    TITLE_BEFORE_RE,
    VERB_NAMES,
    WEAK_BEFORE_RE,
)
from policies.pii.names_gate import RuleNames, RuleNamesArtifacts, needs_model
from policies.pii.names_lexicons import (
    FIRST,
    FIRST_COMMON,
    LAST,
    LAST_COMMON,
    LEET,
    NAME,
    OBFUSCATED,
    STRONG,
    UNKNOWN,
    WORD,
    Classifier,
    NameLexicons,
    lexicon_key,
    shipped_lexicons,
)
from policies.pii.names_lists import (
    add_given_after_surname,
    add_list_names,
    add_repeated_names,
    add_speaker_names,
)
from policies.pii.names_pseudonyms import add_pseudonym_neighbours
from policies.pii.names_shapes import lone_word, particle_first, particles_then_name
from policies.pii.names_tokens import (
    MAX_PARTS,
    NOT_A_PERSON,
    SCORE_CONTEXT,
    SCORE_STRONG,
    SCORE_WEAK,
    TOKEN_RE,
    Token,
    continues,
    firm_of_names,
    has_diacritic,
    initial_between,
    is_particle,
    list_members,
    not_a_person,
    overlaps,
    particle_name,
    person_or_title_before,
    shape_of,
    shapes_of,
    surname_comma_first,
)
from policies.pii.recognizer_base import RuleRecognizer

__all__ = ["FIRST", "NameLexicons", "PersonNameRecognizer", "shipped_lexicons"]

_NER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"})


class PersonNameRecognizer(RuleRecognizer):
    """English person names from lexicons, context and casing (see the module docstring)."""

    entity_type = "PERSON"

    def __init__(self, lexicons: NameLexicons | None = None) -> None:
        self._lexicons = lexicons
        self._classifier: Classifier | None = None
        super().__init__()  # calls load(): the lexicons are read when the detector is built

    def load(self) -> None:
        if self._classifier is None:
            self._classifier = Classifier(self._lexicons or shipped_lexicons())

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        self.load()
        if isinstance(nlp_artifacts, RuleNamesArtifacts):
            found = nlp_artifacts.names
        else:
            found = self.find(
                text,
                _ner_spans(nlp_artifacts),
                _ner_spans(nlp_artifacts, _PERSON_LABEL),
                _ner_spans(nlp_artifacts, _PLACE_LABELS),
            )
        return [RecognizerResult("PERSON", start, end, score) for start, end, score in found]

    def find(
        self,
        text: str,
        ner_spans: Sequence[tuple[int, int]] = (),
        person_spans: Sequence[tuple[int, int]] = (),
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> list[tuple[int, int, float]]:
        """Half-open spans of ``text`` that are person names, with a score. ``ner_spans`` are the
        model's entities of any name-like label, ``person_spans`` those it labelled PERSON: their
        words count as names elsewhere in the text too; ``place_spans`` those it labelled a place
        (GPE, LOC, FAC): a lone first name there is a place ("Florence", "Victoria")."""
        self.load()
        return self._find(text, self._tokens(text), ner_spans, person_spans, place_spans)

    def _find(
        self,
        text: str,
        tokens: list[Token],
        ner_spans: Sequence[tuple[int, int]] = (),
        person_spans: Sequence[tuple[int, int]] = (),
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> list[tuple[int, int, float]]:
        names: dict[int, tuple[int, float]] = {}  # first token index -> (end index, score)
        refused: set[int] = set()  # token indices the rules judged no name (a firm, an eponym)
        index = 0
        while index < len(tokens):
            end, score = self._name_at(text, tokens, index, ner_spans, place_spans)
            if score:
                names[index] = (end, score)
            elif end > index:
                refused.update(range(index, end))
            index = max(end, index + 1)
        if len(tokens) > 1:
            if "," in text or "&" in text or AND_OR_RE.search(text):
                add_list_names(text, tokens, names, refused)
            add_speaker_names(text, tokens, names, refused)
            add_repeated_names(text, tokens, names, refused, person_spans)
            if "," in text:
                add_given_after_surname(text, tokens, names)
        add_pseudonym_neighbours(text, tokens, names, refused)
        return [(tokens[i].start, tokens[end - 1].end, score) for i, (end, score) in sorted(names.items())]

    def without_model(self, text: str, explained_score: float) -> RuleNames:
        """The names these rules find in ``text`` without the model's entities, and whether the
        model could change them (``policies.pii.names_gate``)."""
        self.load()
        tokens = self._tokens(text)
        names = self._find(text, tokens)
        return RuleNames(names, needs_model(text, tokens, names, explained_score))

    def rejects(self, text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]``, which another recognizer took for a person (the small spaCy
        model tags "Lasix", "Colles", "Charles Schwab" PERSON), is certainly no name: only clinical
        terms and English words, or an eponym, a place or a firm named after someone."""
        self.load()
        tokens = self._tokens(text)
        inside = [i for i, t in enumerate(tokens) if start <= t.start and t.end <= end]
        if not inside:
            return False
        words = [tokens[i] for i in inside if tokens[i].shape != "initial"]
        assert self._classifier is not None
        # Clinical terms, English words and common-word names, one of them no name at all: "Lasix",
        # "Mark the Troponin", "Start Ativan", "Zelle". "Will Brown" stays a name. The dictionary's
        # proper nouns count as words here: the model tags "Parthenon" and "Metallica" PERSON; the
        # rules still find "Dr. Ramanujan" and "Oluwakemi Soyinka".
        plain = [
            t
            for t in words
            if t.flags == WORD
            or lexicon_key(t.text) in self._classifier.clinical
            or self._classifier.is_proper(t.text)
        ]
        if plain and all(t in plain or not t.flags & (STRONG | UNKNOWN | OBFUSCATED) for t in words):
            return True
        first, last = inside[0], inside[-1] + 1
        for start in range(max(0, first - 6), first + 1):
            members = list_members(text, tokens, start)
            if len(members) > 1 and any(a <= first < b for a, b in members):
                if firm_of_names(text, tokens, members):
                    return True  # "The Clark, Romero and Hall Orchestra"
                break
        before = text[max(0, tokens[first].start - 40) : tokens[first].start]
        return bool(words) and not_a_person(text, tokens, first, last, before, words)

    def _tokens(self, text: str) -> list[Token]:
        assert self._classifier is not None
        tokens = []
        for match in TOKEN_RE.finditer(text):
            word = match.group(0)
            possessive = len(word) > 2 and word[-2] in "'’`" and word[-1] in "sS"
            if possessive:
                word = word[:-2]
            flags = self._classify_compound(word)
            shape = shape_of(word)
            if (
                len(word) == 1
                and (word in LEET or word == "1")
                and text[match.end() : match.end() + 1] == "."
            ):
                shape = "initial"  # "Maria 4. Gonzalez"
            tokens.append(Token(match.start(), match.start() + len(word), word, flags, shape, possessive))
        return tokens

    def _classify_compound(self, word: str) -> int:
        """A hyphenated word is a name when one part is a listed name and the others are name-like."""
        assert self._classifier is not None
        if "-" not in word:
            return self._classifier.classify(word)
        parts = [self._classifier.classify(part) for part in word.split("-") if part]
        if any(p & NAME for p in parts) and all(p & (NAME | UNKNOWN) for p in parts):
            merged = 0
            for p in parts:
                merged |= p
            return merged & ~UNKNOWN
        if parts and all(p & UNKNOWN for p in parts):
            return UNKNOWN
        return WORD

    def _name_at(
        self,
        text: str,
        tokens: list[Token],
        index: int,
        ner_spans: Sequence[tuple[int, int]],
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> tuple[int, float]:
        """(end index, score) of the name that starts at ``tokens[index]``: score 0.0 when there is
        none; then the words up to the end index are no name either (a firm, a place, an eponym)."""
        first = tokens[index]
        if first.shape in ("lower", "upper") and first.text.lower() in NAME_PARTICLES:
            stop, score = particle_first(text, tokens, index, MAX_PARTS)
            if score:
                return stop, score  # "Dr. van der Berg", "DR. DI BITTON"
        if not first.flags & (NAME | UNKNOWN) and first.shape != "initial":
            return index, 0.0
        if first.shape in ("lower", "upper") and not first.flags & (FIRST | FIRST_COMMON | STRONG | UNKNOWN):
            inverted = surname_comma_first(text, tokens, index, index + 1) if first.flags & NAME else 0
            if inverted:
                return inverted, SCORE_CONTEXT  # "dines, bianca - allergy to penicillin"
            return index, 0.0  # "add", "PLS": a common word that is only a surname does not start a name
        if lexicon_key(first.text) in FUNCTION_WORDS and not (
            first.shape == "initial" and text.startswith(".", first.end)
        ):
            return (
                index,
                0.0,
            )  # "And", "To": surnames too, but not at the start of a name ("A. T. Rolstad" is)
        if (
            not first.flags & (STRONG | UNKNOWN | OBFUSCATED)
            and (not first.flags & FIRST_COMMON or lexicon_key(first.text) in VERB_NAMES)
            and index + 1 < len(tokens)
            and tokens[index + 1].flags & (FIRST | FIRST_COMMON)
            and SENTENCE_START_RE.search(text, 0, first.start)
        ):
            return index, 0.0  # "Book John Smith", "Will Maria": a verb before the name
        # The longest run of name-like words joined by blanks (or an initial's dot).
        end = index + 1
        while end < len(tokens) and end - index < MAX_PARTS and not tokens[end - 1].possessive:
            previous, current = tokens[end - 1], tokens[end]
            gap = text[previous.end : current.start]
            if gap.startswith(".") and previous.shape != "initial":
                break
            if gap == " " and previous.shape in ("title", "upper", "lower"):
                # "Willemine ten Pas", "Pieter van der Berg": particles and the name part after them
                head = particles_then_name(text, tokens, end, previous.shape)
                if head and head - index < MAX_PARTS:
                    end = head + 1
                    continue
            if not JOIN_RE.fullmatch(gap) or not continues(tokens, index, end):
                break
            end += 1
        while end > index and tokens[end - 1].shape == "initial":
            end -= 1  # a name does not end with an initial
        if end == index:
            return index, 0.0
        inverted = surname_comma_first(text, tokens, index, end)
        if inverted:
            return inverted, SCORE_CONTEXT
        # "Grace Lopez Cardenas" may fail as three parts and pass as two: try the shorter runs.
        for stop in range(end, index, -1):
            score = self._judge(text, tokens, index, stop, ner_spans, place_spans)
            if score > 0:
                return stop, score
            if score < 0:
                return stop, 0.0
        return index, 0.0

    def _judge(
        self,
        text: str,
        tokens: list[Token],
        index: int,
        end: int,
        ner_spans: Sequence[tuple[int, int]],
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> float:
        """The score of ``tokens[index:end]`` as a person name, 0.0 when it is not one."""
        parts = [t for t in tokens[index:end] if t.shape != "initial" and not is_particle(t, tokens[index])]
        if not parts:
            return 0.0
        start, stop = tokens[index].start, tokens[end - 1].end
        before = text[max(0, start - 40) : start]
        shapes = shapes_of(parts)
        title_case = shapes == {"title"}
        upper_case = shapes == {"upper"} and all(len(t.text) > 1 for t in parts)
        cased = title_case or upper_case or (shapes <= {"title", "upper"} and len(parts) > 1)
        several = len(parts) > 1
        strong = sum(1 for t in parts if t.flags & (STRONG | OBFUSCATED))
        listed = sum(1 for t in parts if t.flags & NAME)
        unknown = len(parts) - listed
        common_only = unknown == 0 and strong == 0

        if TITLE_BEFORE_RE.search(before):
            # "Dr. Adeyemi", "dr. oyelaran", "MR. WILL BROWN"; not "dr. will" (lower case, a common word).
            return SCORE_STRONG if cased or not common_only else 0.0

        if common_only and THE_BEFORE_RE.search(before):
            return 0.0  # "The Princess Royal arrived": common words after "the" are a title, not a name
        if len(parts) == 1 and "-" in parts[0].text and not person_or_title_before(before):
            return NOT_A_PERSON  # "Mallory-Weiss", "Cheyne-Stokes": a lone hyphenated pair is an eponym
        possessive = tokens[end - 1].possessive
        owned = possessive and OWNED_RE.match(text, stop) is not None
        if not owned and not_a_person(text, tokens, index, end, before, parts):
            return NOT_A_PERSON
        person_before = PERSON_BEFORE_RE.search(before) is not None or (
            INTRO_BEFORE_RE.search(before) is not None
            and (
                (several and (cased or strong))
                or bool(parts[0].flags & (FIRST | OBFUSCATED))
                # "this is ronan from ward 9", "THIS IS LYNETT CALLING": a caller names themself
                or (
                    bool(parts[0].flags & (NAME | UNKNOWN))
                    and CALLER_BEFORE_RE.search(before) is not None
                    and INTRO_AFTER_RE.match(text, stop) is not None
                )
            )
        )
        detail_after = owned or DETAIL_AFTER_RE.match(text, stop) is not None
        # A detail after the name alone ("... denied", "..., DOB") follows drugs and units too: a
        # single word then must be a listed name that is not a common word.
        if person_before or (detail_after and (several or strong)):
            if title_case:
                return SCORE_CONTEXT  # "daughter Grace", "patient Adeyemi", "Nguyen's account"
            if upper_case and (several or strong or unknown):
                return SCORE_CONTEXT  # "PATIENT MARIA GONZALEZ", "PT ADEYEMI"; not "PATIENT WILL"
            if strong or (several and not common_only):
                return SCORE_CONTEXT  # "patient maria", "pt oluwaseun adebayo"
            lone = parts[0].text.lower()
            if not several and person_before and lone not in FUNCTION_WORDS and lone not in NAME_PLACEHOLDERS:
                if NAME_LABEL_BEFORE_RE.search(before) and parts[0].flags & (NAME | UNKNOWN):
                    return SCORE_CONTEXT  # "surname: majestic", "first name: ray"
                if parts[0].flags & UNKNOWN and len(parts[0].text) >= 4 and not BY_BEFORE_RE.search(before):
                    return SCORE_CONTEXT  # "insisted chebet", "daughter oyinlola"; not "seen by ortho"

        if any(is_particle(t, tokens[index]) for t in tokens[index:end]):
            return particle_name(tokens[index:end], parts, before, overlaps(place_spans, start, stop))
        if several and unknown == 0:
            pair = self._pair_score(parts, cased, strong, overlaps(ner_spans, start, stop))
            if pair:
                return pair
        if len(parts) == 1 and tokens[index].shape == "initial" and parts[0].flags & LAST and cased:
            return SCORE_WEAK  # "J. Smith"
        if len(parts) == 2 and title_case and initial_between(text, tokens, index, end):
            return SCORE_WEAK  # "Sari J. Paavolainen", "Faina D. Yefremova": no word has that shape
        if (
            len(parts) == 2
            and title_case
            and unknown
            and any(has_diacritic(t.text) for t in parts)
            and all(len(t.text) >= 3 for t in parts)
            and not PLACE_PREPOSITION_RE.search(before)
        ):
            return SCORE_WEAK  # "Esat Jeknić", "Šárka Ottová": Latin letters with accents, no English word
        if not several:
            return lone_word(text, tokens[index], parts[0], before, place_spans)
        weak_before = WEAK_BEFORE_RE.search(before) is not None or (
            # A line of its own ("> Gyala Antall" above an address): a name or a heading.
            LINE_START_RE.search(text, max(0, start - 8), start) is not None
            and LINE_END_AFTER_RE.match(text, stop) is not None
        )
        long_unknowns = all(len(t.text) >= 4 for t in parts if t.flags & UNKNOWN)
        if not cased:
            if shapes == {"lower"} and strong and unknown and long_unknowns:
                pair = len(parts) == 2 and (
                    (parts[0].flags & FIRST and parts[1].flags & UNKNOWN)
                    or (parts[0].flags & UNKNOWN and parts[1].flags & LAST)
                )
                if weak_before or pair:
                    return SCORE_WEAK  # "for oyinlola hussain", "srinika shermer", "oyinlola demir"
            if (
                shapes == {"lower"}
                and len(parts) == 2
                and unknown == 2
                and long_unknowns
                and WEAK_BEFORE_RE.search(before) is not None
            ):
                return SCORE_WEAK  # "to claudie bowlds", "for jayliah daigneault": two words no list knows
            return 0.0
        ner = overlaps(ner_spans, start, stop)
        if strong and unknown and (title_case or long_unknowns):
            return SCORE_WEAK  # "Maria Adeyemi", "GONZALEZ OYELARAN"
        if unknown == len(parts) and (
            (title_case and (weak_before or ner)) or (upper_case and weak_before and long_unknowns)
        ):
            return SCORE_WEAK  # "for Oluwaseun Adebayo", "FOR LATIF GLUECK", the model's ORG/GPE span
        if title_case and strong and (weak_before or ner):
            return SCORE_WEAK
        if (
            (title_case or upper_case)
            and weak_before
            and parts[0].flags & FIRST_COMMON
            and unknown
            and long_unknowns
        ):
            return SCORE_WEAK  # "to Sandy Sprenkel", "TO SOLACE MANKIN"
        return 0.0

    @staticmethod
    def _pair_score(parts: list[Token], cased: bool, strong: int, ner: bool) -> float:
        """A first name then a surname (middle parts listed too), or two listed surnames."""
        head, tail = parts[0], parts[-1]
        first_then_last = head.flags & (FIRST | FIRST_COMMON) and tail.flags & (LAST | LAST_COMMON)
        two_surnames = cased and head.flags & (LAST | OBFUSCATED) and tail.flags & (LAST | OBFUSCATED)
        if not (first_then_last or two_surnames):
            return 0.0
        if strong == 0:
            # "Will Brown": two common words; only where the model saw an entity there.
            return SCORE_WEAK if ner and cased and first_then_last else 0.0
        # Lower case ("john smith") scores lower: both parts listed, one not a common word.
        return SCORE_STRONG if cased else SCORE_CONTEXT


def _ner_spans(
    nlp_artifacts: NlpArtifacts | None, labels: frozenset[str] = _NER_LABELS
) -> list[tuple[int, int]]:
    """Character spans of the model's entities with one of ``labels`` (by default those that may be
    a mis-labelled name)."""
    doc = getattr(nlp_artifacts, "tokens", None)
    ents = getattr(doc, "ents", None)
    if not ents:
        return []
    return [(ent.start_char, ent.end_char) for ent in ents if ent.label_ in labels]


_PERSON_LABEL = frozenset({"PERSON"})
# The model's labels for places, peoples and languages: a lone first name there is none ("Lake
# Florence", "English"). Not GPE: the small model gives it to lone first names ("Why is Rebecca ...").
_PLACE_LABELS = frozenset({"LOC", "FAC", "NORP", "LANGUAGE"})
