"""Names found from their company: members of a list of people, the speakers of a dialogue, and
another mention of a part of a name already found in the same text."""

from __future__ import annotations

from collections.abc import Sequence

from policies.pii.names_context import (
    LINE_START_RE,
    LOWER_WORD_AFTER_RE,
    PAIR_VERB_AFTER_RE,
    PEOPLE_LIST_BEFORE_RE,
    PLACE_PREPOSITION_RE,
    SENTENCE_START_RE,
    SPEAKER_AFTER_RE,
)
from policies.pii.names_lexicons import (
    FIRST,
    FIRST_COMMON,
    LAST,
    NAME,
    OBFUSCATED,
    STRONG,
    UNKNOWN,
    deleet,
    lexicon_key,
)
from policies.pii.names_tokens import (
    SCORE_CONTEXT,
    SCORE_WEAK,
    Token,
    covered_indices,
    firm_of_names,
    list_members,
    long_unknown,
    not_a_person,
    overlaps,
    shapes_of,
)


def add_list_names(
    text: str, tokens: list[Token], names: dict[int, tuple[int, float]], refused: set[int]
) -> None:
    """Members of a list of capitalized name-like words ("Morrison, Rogers and Torres", "Usamov
    and Bowers") when one member is a name or a listed name that is no common word, or when a
    word for people introduces the list ("founders:", "team:", "cc:"; then two members may be
    joined by a comma, and in lower case name-like words are enough); otherwise in lower case only
    a list of three or more listed first names ("silvana, adam, chad and caleb")."""
    covered = covered_indices(names)
    index = 0
    while index < len(tokens):
        if not tokens[index].flags & (NAME | UNKNOWN):
            index += 1
            continue
        members = list_members(text, tokens, index)
        if len(members) < 2:
            index += 1
            continue
        index = members[-1][1]
        if any(i in refused for a, b in members for i in range(a, b)):
            continue
        introduced = PEOPLE_LIST_BEFORE_RE.search(text, 0, tokens[members[0][0]].start) is not None
        comma_pair = "," in text[tokens[members[0][1] - 1].end : tokens[members[1][0]].start]
        if len(members) == 2 and comma_pair and not introduced:
            continue  # "in Tobel, Transunion": two members need "and", "or" or "&" (or "team:" before)
        if PLACE_PREPOSITION_RE.search(text, 0, tokens[members[0][0]].start):
            continue  # "in Leon and Eyrarodda"
        if firm_of_names(text, tokens, members):
            refused.update(i for a, b in members for i in range(a, b))
            continue  # "The Clark, Romero and Hall Orchestra", "Owens, Duran & Oneal LLP"
        words = [t for a, b in members for t in tokens[a:b] if t.shape != "initial"]
        shapes = shapes_of(words)
        subject_pair = (
            len(members) == 2
            and SENTENCE_START_RE.search(text, 0, tokens[members[0][0]].start) is not None
            and (
                (
                    shapes == {"title"}
                    and LOWER_WORD_AFTER_RE.match(text, tokens[members[1][1] - 1].end) is not None
                )
                # In capitals or lower case the casing shows no verb: a verb of people must follow,
                # and both members be no common word ("GOFFNEY AND BRAKE WERE BOTH CHARGED").
                or (
                    shapes in ({"upper"}, {"lower"})
                    and PAIR_VERB_AFTER_RE.match(text, tokens[members[1][1] - 1].end) is not None
                    and all(t.flags & (STRONG | OBFUSCATED) or long_unknown(t) for t in words)
                )
            )
        )
        if shapes == {"lower"}:
            # Listed first names, and surnames or unlisted name-like words among a majority of them.
            firsts = [t for t in words if t.flags & (FIRST | FIRST_COMMON | LAST) or long_unknown(t)]
            strong_firsts = [t for t in firsts if t.flags & FIRST]
            if not subject_pair and not (
                (len(members) >= 3 or introduced)
                and len(firsts) == len(words)
                and (introduced or 2 * len(strong_firsts) > len(words))
            ):
                continue  # after "team:" or "cc:" name-like words are enough: "team: buras, broussard"
        elif not shapes <= {"title", "upper"}:
            continue
        elif not (
            introduced
            or any(i in covered for a, b in members for i in range(a, b))
            or any(t.flags & (STRONG | OBFUSCATED) for t in words)
            or (subject_pair and any(long_unknown(t) for t in words))
        ):
            continue
        elif (
            len(members) == 2
            and not introduced
            and not (any(names.get(a, (0, 0.0))[1] >= SCORE_CONTEXT for a, _ in members) or subject_pair)
        ):
            continue  # "Compare Coutts and Halifax": two firms read like two surnames
        if not introduced and not all(
            any(t.flags & (STRONG | UNKNOWN | OBFUSCATED) for t in tokens[a:b])
            or a in covered
            or (subject_pair and any(long_unknown(t) for t in words))
            for a, b in members
        ):
            continue  # "May and June": common words only ("Muslija and Brown were" is two people)
        score = SCORE_CONTEXT if introduced else SCORE_WEAK
        for a, b in members:
            if a in covered or any(i in covered for i in range(a, b)):
                continue
            before = text[max(0, tokens[a].start - 40) : tokens[a].start]
            parts = [t for t in tokens[a:b] if t.shape != "initial"]
            if not_a_person(text, tokens, a, b, before, parts):
                continue
            names[a] = (b, score)


def add_speaker_names(
    text: str, tokens: list[Token], names: dict[int, tuple[int, float]], refused: set[int]
) -> None:
    """Speakers of a dialogue: name-like words that open two lines or more, each followed by a
    colon and no number ("Ubul: What a wife.\nNicole: Remember me?"), one of them a name; and a
    single speaker whose label is a listed first name that is no common word, in any casing
    ("zofia: is my mum's bed ready yet?"), or an unlisted capitalized one ("Oyinlola: thanks")."""
    if ":" not in text:
        return
    if text.count(":") < 2 or "\n" not in text:
        _add_lone_speaker(text, tokens, names, refused)
        return
    covered = covered_indices(names)
    labels: list[tuple[int, int]] = []
    for index, token in enumerate(tokens):
        if not LINE_START_RE.search(text, 0, token.start):
            continue
        end = index + 1
        while end < len(tokens) and end - index < 3 and text[tokens[end - 1].end : tokens[end].start] == " ":
            end += 1
        for stop in range(end, index, -1):
            if SPEAKER_AFTER_RE.match(text, tokens[stop - 1].end):
                words = tokens[index:stop]
                if all(t.flags & (NAME | UNKNOWN) and t.shape in ("title", "upper", "lower") for t in words):
                    labels.append((index, stop))
                break
    if len(labels) < 2:
        return
    if not any(a in covered or any(t.flags & (STRONG | OBFUSCATED) for t in tokens[a:b]) for a, b in labels):
        return
    for a, b in labels:
        if a in covered or any(i in refused for i in range(a, b)):
            continue
        if tokens[a].shape == "lower" and not all(t.flags & (FIRST | FIRST_COMMON) for t in tokens[a:b]):
            continue
        names[a] = (b, SCORE_CONTEXT)


def _add_lone_speaker(
    text: str, tokens: list[Token], names: dict[int, tuple[int, float]], refused: set[int]
) -> None:
    covered = covered_indices(names)
    for index, token in enumerate(tokens):
        if index in covered or index in refused or not LINE_START_RE.search(text, 0, token.start):
            continue
        if not SPEAKER_AFTER_RE.match(text, token.end) or token.possessive:
            continue
        following = tokens[index + 1].text.lower() if index + 1 < len(tokens) else ""
        if following in _RESULT_WORDS:
            continue  # "ana: positive": a test's name (antinuclear antibodies), not a speaker
        if token.flags & FIRST or (token.flags & UNKNOWN and token.shape == "title" and len(token.text) >= 4):
            names[index] = (index + 1, SCORE_CONTEXT)


_RESULT_WORDS = frozenset(
    "positive negative pos neg normal abnormal high low raised elevated reduced pending detected "
    "undetectable reactive nonreactive nil none borderline equivocal".split()
)


def add_repeated_names(
    text: str,
    tokens: list[Token],
    names: dict[int, tuple[int, float]],
    refused: set[int],
    person_spans: Sequence[tuple[int, int]],
) -> None:
    """Another mention of a part of a name found in the same text ("Faina D. Yefremova ... early
    Yefremova", "Maciej Borkowski and starring Borkowski"); parts that are common words
    ("Grace", "Long") and initials do not spread."""
    seeds: dict[str, float] = {}
    lower_seeds: set[str] = set()  # parts found in lower case: "borna" repeats as "borna"
    for index, (end, score) in names.items():
        for token in tokens[index:end]:
            if (
                token.shape != "initial"
                and token.flags & (STRONG | UNKNOWN | OBFUSCATED)
                and len(token.text) > 2
            ):
                key = lexicon_key(token.text)
                seeds[key] = max(seeds.get(key, 0.0), min(score, SCORE_CONTEXT))
                if token.shape == "lower":
                    lower_seeds.add(token.text)
    for start, stop in person_spans:
        inside = [t for t in tokens if start <= t.start and t.end <= stop and t.shape != "initial"]
        if (
            inside
            and all(t.flags & (NAME | UNKNOWN) for t in inside)
            and (len(inside) > 1 or inside[0].flags & (STRONG | OBFUSCATED))
        ):
            for token in inside:
                if token.flags & (STRONG | UNKNOWN | OBFUSCATED) and len(token.text) > 2:
                    seeds.setdefault(lexicon_key(token.text), SCORE_WEAK)
    if not seeds:
        return
    covered = covered_indices(names)
    for index, token in enumerate(tokens):
        if not token.flags & (STRONG | UNKNOWN | OBFUSCATED) or len(token.text) < 3:
            continue  # the same word as a seed has the seed's class
        if index in covered or index in refused or token.shape not in ("title", "upper", "lower", "any"):
            continue
        if overlaps(person_spans, token.start, token.end):
            continue  # the model's own call, which the analyzer may veto
        key = lexicon_key(token.text)
        seed = seeds.get(key)
        if seed is None and not key.isalpha() and any(c.isalpha() for c in key):
            seed = next((seeds[v] for v in deleet(key) if v in seeds), None)  # "Cardona ... Cardon4"
        if seed is None or (
            token.shape == "lower"
            and not token.flags & (STRONG | OBFUSCATED)
            and token.text not in lower_seeds
        ):
            continue
        before = text[max(0, token.start - 40) : token.start]
        if not_a_person(text, tokens, index, index + 1, before, [token]):
            continue
        names[index] = (index + 1, seed)


def add_given_after_surname(text: str, tokens: list[Token], names: dict[int, tuple[int, float]]) -> None:
    """The given name after a surname found alone and a comma, "Surname, Given" in one casing, when
    the given name is a listed first name or an unlisted name-like word and the clause ends with it
    ("The account holder, Kalvaitis, Žygimantas, disputes", "Thanks, Gaižauskas, Gabrielius"). The
    surname had its own evidence; a common word ("Kalvaitis, Pharmacy") or a further capitalized
    word (a list, a place: "Okafor, Lagos Road") after the comma is left alone."""
    for index, (end, score) in list(names.items()):
        given_index = end
        if end != index + 1 or given_index >= len(tokens) or given_index in names:
            continue
        surname, given = tokens[index], tokens[given_index]
        if text[surname.end : given.start] not in (", ", ","):
            continue
        if surname.possessive or given.shape != surname.shape or given.shape not in ("title", "upper"):
            continue
        if not given.flags & (FIRST | UNKNOWN | OBFUSCATED) or len(given.text) < 3:
            continue
        after = text[given.end : given.end + 2]
        if after and after[0].isalnum():
            continue
        following = tokens[given_index + 1] if given_index + 1 < len(tokens) else None
        if (
            following is not None
            and text[given.end : following.start] == " "
            and following.shape in ("title", "upper")
        ):
            continue
        names[index] = (given_index + 1, score)
