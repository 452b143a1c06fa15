"""How much of a stream to hold for names found by rules (``pii.stream_names``): the name in progress.

The rule-based name detector decides from the words around a name ("patient", "Dr.", a verb after
it) and from the name's own words, so it does not need the whole clause as NER does. What must
not go out early is a name still being written: "Maria" may become "Maria Gonzalez". So the open
clause is held only from its last run of capitalized words (joined by spaces, commas, hyphens,
apostrophes, the period of an initial or a title, and lower-case particles such as "de", "van",
"bin") that nothing has ended yet. A run ends at the first word that starts with a lower-case
letter and is no particle (as soon as its first letter arrives: "The p" releases "The"), at a
digit or other punctuation, or where the clause ends. A capitalized word at the start of a
sentence is thus held until the next word begins.

Chinese text has no spaces between the name and the words around it, so a clause with a Han
ideograph is held as the clause detector holds it (until the clause ends).
"""

from __future__ import annotations

import regex

from policies.output.holdback import CLAUSE_END, NAME_HINT, clause_hold

# Words of letters (with marks and apostrophes inside), digit runs, and any other single character.
_TOKEN_RE = regex.compile(r"[\p{L}\p{M}][\p{L}\p{M}'’]*|\d+|\S")
_HAN_RE = regex.compile(r"\p{Han}")
_CAPITAL_RE = regex.compile(r"[\p{Lu}\p{Lt}]")
#: Lower-case words inside a name: "Maria de la Cruz", "Ludwig van Beethoven", "Aisha bin Salem".
PARTICLES = frozenset(
    "de del della dei der den di da das dos du la le lo van von ter ten bin binti ibn al el y e zu st".split()
)
# Characters that keep a run open: "Gonzalez, Maria", "Dr. Okafor", "J. Smith", "Smith-Jones".
_JOINERS = frozenset(",.-'’")


def name_run_hold(text: str, base: int, n: int, window: int) -> tuple[int, bool]:
    """Where the name still in progress at the end of ``text`` starts, and whether that is a
    forced cut (a run longer than ``window`` is cut as :func:`clause_hold` cuts a clause)."""
    start = base
    for m in CLAUSE_END.finditer(text, base, n):
        start = m.end()
    if not NAME_HINT.search(text, start, n):
        return n, False
    if _HAN_RE.search(text, start, n):
        return clause_hold(text, base, n, window)
    run: int | None = None
    for m in _TOKEN_RE.finditer(text, start, n):
        token = m.group()
        if _CAPITAL_RE.match(token):
            if run is None:
                run = m.start()
        elif run is None or token in _JOINERS or _may_be_particle(token, in_progress=m.end() == n):
            continue
        else:
            run = None
    if run is None:
        return n, False
    if n - run <= window:
        return run, False
    return clause_hold(text, run, n, window)


def _may_be_particle(token: str, *, in_progress: bool) -> bool:
    """A particle, or (for the word still being written) the start of one."""
    if token in PARTICLES:
        return True
    return in_progress and token.isalpha() and any(p.startswith(token) for p in PARTICLES)
