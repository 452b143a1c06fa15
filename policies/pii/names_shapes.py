"""Where a lone word stands in English prose when it is a person's name, whatever the name.

A single name-like word ("Okonkwo", "Tsegaye") is a name by its place in the sentence, not by a
list: a vocative opening a request ("Chebet, please call the ward"), the subject of a verb of
speech or of what only people do ("Mwangi explained", "Oyelaran will call back"), a character
trait said of it ("Boateng is very reliable", "Why is Natasja so impulsive?"), the author of a
work ("a song by ex-Zombie Sedej"). Names opening with a particle after a title ("Dr. van der
Berg", "Ms de la Cruz") are here too. Places, firms and words the lexicons know are ruled out by
the caller first (:func:`lone_word`).
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from policies.pii.address_patterns_en import COUNTRIES
from policies.pii.names_context import (
    CAPITALIZED_AFTER_RE,
    MEMBER_AFTER_RE,
    MEMBER_BEFORE_RE,
    NAME_PARTICLES,
    PARTICLE_BEFORE_RE,
    PERSON_BEFORE_RE,
    PERSON_VERB_AFTER_RE,
    PLACE_KIND_BEFORE_RE,
    PLACE_PREPOSITION_RE,
    PLACE_WORDS,
    SENTENCE_START_RE,
    TITLE_BEFORE_RE,
    TRAVEL_BEFORE_RE,
    VOCATIVE_AFTER_RE,
    WORK_AFTER_RE,
    WORK_BEFORE_RE,
)
from policies.pii.names_lexicons import FIRST, NAME, OBFUSCATED, STRONG, UNKNOWN, lexicon_key
from policies.pii.names_tokens import SCORE_CONTEXT, SCORE_STRONG, SCORE_WEAK, Token, overlaps

# Words said of a person's character or mood, not of a drug, a card or a place.
_TRAITS = (
    "reliable unreliable kind unkind friendly unfriendly rude polite impolite helpful unhelpful "
    "impulsive shy quiet funny smart clever nice lovely honest dishonest anxious nervous upset angry "
    "happy unhappy sad tired confused agitated pleasant unpleasant cooperative uncooperative talented "
    "lazy brave generous stubborn sweet caring worried excited proud grateful thankful grumpy moody "
    "cheerful charming rude arrogant humble modest loyal selfish jealous lonely bored boring annoyed "
    "annoying scared afraid frightened sleepy drowsy tearful distressed irritable combative "
    "withdrawn chatty talkative pleasant lucid alert oriented disoriented forgetful clumsy careless "
    "careful thoughtful smug sarcastic cynical optimistic pessimistic naive gullible trustworthy "
    "dependable punctual diligent hardworking sensible sensitive insensitive emotional calm "
    "aggressive violent abusive demanding difficult pushy bossy greedy mean cruel gentle patient "
    "impatient tolerant intolerant stressed depressed sick unwell poorly married divorced pregnant"
).split()
# "Boateng is very reliable", "Shovda seems so impulsive": a trait said of the word before.
TRAIT_AFTER_RE = regex.compile(
    r"[ \t]+(?:is|was|seems|seemed|looks|looked|sounds|sounded|feels|felt|became|gets|got|"
    r"(?:has|had|have)(?:[ \t]+(?:always|never|just|also|often|usually))?[ \t]+been|is[ \t]+being|"
    r"was[ \t]+being|can[ \t]+be|could[ \t]+be)"
    r"(?:[ \t]+(?:very|so|really|always|never|quite|extremely|too|incredibly|rather|pretty|such|a|an|"
    r"not|bit|little|usually|often|sometimes|generally|still|just|also))*[ \t]+"
    r"(?:" + "|".join(sorted(set(_TRAITS), key=len, reverse=True)) + r")(?![\p{L}])",
    regex.IGNORECASE,
)
# "Why is Natasja so impulsive?": the same, asked.
TRAIT_QUESTION_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:why|how|since[ \t]+when)[ \t]+(?:is|was|are|were)[ \t]+$",
    regex.IGNORECASE | regex.REVERSE,
)
TRAIT_QUESTION_AFTER_RE = regex.compile(
    r"[ \t]+(?:(?:so|such|always|never|very|really|being|acting|getting|that)[ \t]+)+(?:an?[ \t]+)?"
    r"(?:" + "|".join(sorted(set(_TRAITS), key=len, reverse=True)) + r")(?![\p{L}])",
    regex.IGNORECASE,
)
# The author of a work, possibly after a descriptor ("a song by ex-Zombie Sedej", "the novel by
# the late Okri").
WORK_BY_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:song|songs|album|albums|book|books|novel|novels|poem|poems|film|films|movie|movies|"
    r"play|plays|painting|paintings|article|articles|essay|essays|memoir|story|stories|track|tracks|"
    r"single|record|records|play|photo|photograph|photographs|sculpture|opera|symphony|concerto|"
    r"lyrics|letter|letters|speech|talk|lecture|sermon|column|blog|post|podcast|interview|biography)"
    r"[ \t]+(?:written[ \t]+|directed[ \t]+|sung[ \t]+|performed[ \t]+|painted[ \t]+|composed[ \t]+)?by"
    r"[ \t]+(?:(?:the[ \t]+late|former|ex-\p{L}+|ex[ \t]+\p{L}+|former[ \t]+\p{L}+)[ \t]+)?$",
    regex.IGNORECASE | regex.REVERSE,
)
# What a person does after a listed first name at the start of a sentence ("Scott had given Belle
# his address"): giving, showing, meeting, wider than ``PERSON_VERB_AFTER_RE``.
FIRST_VERB_AFTER_RE = regex.compile(
    r"[ \t]+(?:(?:had|has|have|will|would|did|just|also|then|never|always|once)[ \t]+)?"
    r"(?:gave|given|give|gives|showed|shown|shows|handed|lent|offered|brought|took|taken|met|meets|"
    r"invited|helped|hugged|kissed|thanked|texted|emailed|called|phoned|rang|visited|told|asked|"
    r"promised|sent|wants|wanted|needs|needed|went|goes|came|comes|left|arrived|is[ \t]+from|"
    r"was[ \t]+from|comes[ \t]+from|came[ \t]+from|and[ \t]+i|and[ \t]+me|and[ \t]+my)(?![\p{L}])",
    regex.IGNORECASE,
)


def lone_word(
    text: str, token: Token, part: Token, before: str, place_spans: Sequence[tuple[int, int]]
) -> float:
    """A single word with no context word before it: a listed first name that is no common word
    ("Why is Rebecca so impulsive?"), or a name-like word where only a person stands ("Trivo lives
    on", "the Sokolov novel", "Okonkwo, could you...", "Boateng is very reliable"); not a place the
    model or a preposition names, nor part of a longer proper name or of a list. In capitals and in
    lower case, where the casing tells nothing, only a word that is no common word, and only where
    a person stands."""
    if token is not part or len(part.text) < 3 or part.shape not in ("title", "any", "upper", "lower"):
        return 0.0
    if part.shape == "upper" and (_LOWER_NEAR_RE.search(before) or _LOWER_AFTER_RE.match(text, part.end)):
        return 0.0  # a word in capitals in mixed-case text is an abbreviation ("INR", "NHS")
    if PLACE_PREPOSITION_RE.search(before) or overlaps(place_spans, part.start, part.end):
        return 0.0
    if PLACE_KIND_BEFORE_RE.search(before) or TRAVEL_BEFORE_RE.search(before):
        return 0.0
    if lexicon_key(part.text) in COUNTRIES:
        return 0.0
    if PARTICLE_BEFORE_RE.search(before) or CAPITALIZED_AFTER_RE.match(text, part.end):
        return 0.0  # "Villafranca del Cid", "Nera Economic Consulting": part of a longer proper name
    after = part.end + 2 if part.possessive else part.end
    at_start = SENTENCE_START_RE.search(before) is not None
    if (
        at_start
        and not part.possessive
        and part.flags & (STRONG | UNKNOWN | OBFUSCATED)
        and len(part.text) >= 4
        and VOCATIVE_AFTER_RE.match(text, after)
    ):
        return SCORE_WEAK  # "Okonkwo, could you check the INR?", "COHEN, COULD YOU ..."
    if MEMBER_AFTER_RE.match(text, after) or MEMBER_BEFORE_RE.search(before):
        return 0.0  # a member of a list: the list decides ("The Clark, Romero and Hall Orchestra")
    cased = part.shape in ("title", "any")
    if part.flags & FIRST and not WORK_BEFORE_RE.search(before):
        # A sentence or a field capitalizes any word ("Login from ...", an enum value "Paris"):
        # there a lone first name needs a comma, a possessive or a verb of people after it. In
        # capitals or lower case it needs the verb.
        if (
            (cased and (not at_start or part.possessive or text.startswith(",", after)))
            or PERSON_VERB_AFTER_RE.match(text, after)
            or FIRST_VERB_AFTER_RE.match(text, after)
            or TRAIT_AFTER_RE.match(text, after)
        ):
            return SCORE_WEAK
    if not part.flags & (STRONG | UNKNOWN | OBFUSCATED) or len(part.text) < 4:
        return 0.0
    if PERSON_VERB_AFTER_RE.match(text, after) or TRAIT_AFTER_RE.match(text, after):
        return SCORE_WEAK  # "Mwangi explained", "Boateng is very reliable"
    if TRAIT_QUESTION_BEFORE_RE.search(before) and TRAIT_QUESTION_AFTER_RE.match(text, after):
        return SCORE_WEAK  # "Why is Natasja so impulsive?"
    if not cased:
        return 0.0
    if WORK_BY_BEFORE_RE.search(before) and lexicon_key(part.text) not in PLACE_WORDS:
        return SCORE_WEAK  # "a song by ex-Zombie Sedej"
    if WORK_BEFORE_RE.search(before) and WORK_AFTER_RE.match(text, after):
        return SCORE_WEAK  # "the Sokolov novel"
    return 0.0


_LOWER_NEAR_RE = regex.compile(r"\p{Ll}[^\n]{0,24}$")
_LOWER_AFTER_RE = regex.compile(r"[^\n]{0,24}\p{Ll}")


def particle_first(text: str, tokens: list[Token], index: int, max_parts: int) -> tuple[int, float]:
    """(end index, score) of a name that opens with particles right after a title or a person word
    ("Dr. van der Berg", "patient de la Cruz", "DR. DI BITTON", "dr. bin hazelton"), or (index, 0.0).
    In lower case the part after the particles must be no common word."""
    casing = tokens[index].shape
    end = index
    while (
        end < len(tokens)
        and end - index < 3
        and tokens[end].shape == casing
        and _particle(tokens[end])
        and (end == index or text[tokens[end - 1].end : tokens[end].start] == " ")
    ):
        end += 1
    if end == index or end >= len(tokens) or end - index >= max_parts:
        return index, 0.0
    head = tokens[end]
    if text[tokens[end - 1].end : head.start] != " " or not head.flags & (NAME | UNKNOWN | OBFUSCATED):
        return index, 0.0
    if not _particle_head(head, "title" if casing == "lower" and head.shape != "lower" else casing):
        return index, 0.0
    before = text[max(0, tokens[index].start - 40) : tokens[index].start]
    if TITLE_BEFORE_RE.search(before):
        return end + 1, SCORE_STRONG
    if PERSON_BEFORE_RE.search(before):
        return end + 1, SCORE_CONTEXT
    return index, 0.0


def particles_then_name(text: str, tokens: list[Token], index: int, casing: str) -> int:
    """Index of the name-like word after one or two particles starting at ``tokens[index]``
    ("van der Berg", "ten Pas", "de la Cruz"), each one blank apart, inside a name whose words are
    cased ``casing``; 0 if none. A capitalized name takes lower-case particles ("Pieter van der
    Berg"); in capitals or in lower case the particles are cased like the name, and in lower case
    the part after them must be no common word ("atlanta de la kintzel")."""
    particle = "lower" if casing == "title" else casing
    end = index
    while end < len(tokens) and end - index < 2 and tokens[end].shape == particle and _particle(tokens[end]):
        if end > index and text[tokens[end - 1].end : tokens[end].start] != " ":
            return 0
        end += 1
    if end == index or end >= len(tokens):
        return 0
    head = tokens[end]
    if not head.flags & (NAME | UNKNOWN) or not _particle_head(head, casing):
        return 0
    return end if text[tokens[end - 1].end : head.start] == " " else 0


def _particle(token: Token) -> bool:
    return token.text.lower() in NAME_PARTICLES


def _particle_head(head: Token, casing: str) -> bool:
    """Whether ``head`` may be the surname after particles in a name cased ``casing``."""
    if casing == "lower":
        return head.shape == "lower" and bool(head.flags & (STRONG | UNKNOWN | OBFUSCATED))
    if casing == "upper":
        return head.shape == "upper"
    return head.shape == "title"
