"""How much of a stream to hold for names found by rules (``pii.stream_names``): the name in progress.

The rule-based name detector decides from the words around a name ("patient", "Dr.", a verb after
it) and from the name's own words, so it does not need the whole clause as NER does. What must
not go out early is a name still being written: "Maria" may become "Maria Gonzalez". So the open
clause is held only from its last run of capitalized words (joined by spaces, commas, hyphens,
apostrophes, the period of an initial or a title, and lower-case particles such as "de", "van",
"bin") that nothing has ended yet. A run of function words ("The", "We", "If") ends at the first
word that starts with a lower-case letter and is no particle, as soon as its first letter arrives
("The p" releases "The"). A run with any other word may be a name the rules recognize by the
words after it ("Goldberg is very anxious"), so it is held until ``WORDS_AFTER`` more words are
complete, or the clause ends. Words mixing letters and digits count as
capitalized ("Grov3r Sta1lings", "41len": digits written for letters).

Chinese text has no spaces between the name and the words around it, so a clause with a Han
ideograph is held as the clause detector holds it (until the clause ends).
"""

from __future__ import annotations

import regex

from policies.output.holdback import CLAUSE_END, NAME_HINT, clause_hold

#: A word of letters and digits (with marks and apostrophes inside).
NAME_WORD_RE = regex.compile(r"[\p{L}\p{M}\d][\p{L}\p{M}\d'’]*")
# Words, and any other single character.
_TOKEN_RE = regex.compile(NAME_WORD_RE.pattern + r"|\S")
# Letters mixed with digits may be a name written with digits for letters ("Sta1lings", "41len").
_MIXED_RE = regex.compile(r"\d\p{L}|\p{L}\d")
_HAN_RE = regex.compile(r"\p{Han}")
_CAPITAL_RE = regex.compile(r"[\p{Lu}\p{Lt}]")
#: Lower-case words inside a name: "Maria de la Cruz", "Ludwig van Beethoven", "Aisha bin Salem".
PARTICLES = frozenset(
    "de del della dei der den di da das dos du la le lo van von ter ten bin binti ibn al el y e zu st".split()
)
#: Complete words after a run that may be a name before it goes out: the rules decide some names by
#: the words after them ("Goldberg is very anxious", "Chiamaka had given", "Strothman, could you").
WORDS_AFTER = 3
#: Capitalized words that are no name, at the start of a sentence or in a title: a run of these
#: alone goes out as soon as the next word begins.
FUNCTION_WORDS = frozenset(
    (
        "the a an this that these those there here it its i we you he she they me us him them my our "
        "your his her their what which who whom whose when where why how if then than so as at by "
        "for from in into of on onto to with within without and but or nor not no yes please thank "
        "thanks hello hi dear also however although though because since while after before during "
        "until unless once both each every all any some many most more much few other another such "
        "is are was were be been being do does did have has had can could will would shall should "
        "may might must let lets let's today tomorrow yesterday now note based according overall "
        "first second next finally yet still just only even sure certainly absolutely okay ok "
        "great good sorry unfortunately fortunately welcome hey below above following summary "
        "instead otherwise meanwhile additionally furthermore moreover therefore thus hence "
        "generally usually typically often sometimes always never perhaps maybe likely"
    ).split()
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
    run: int | None = None  # where the held run starts
    maybe_name = False  # the run has a word that is no function word ("Goldberg", not "The")
    after = 0  # complete words since the run's last capitalized word
    for m in _TOKEN_RE.finditer(text, start, n):
        token = m.group()
        in_progress = m.end() == n
        if _CAPITAL_RE.match(token) or _MIXED_RE.search(token):
            if run is None:
                run, maybe_name = m.start(), False
            maybe_name = maybe_name or (not in_progress and token.lower() not in FUNCTION_WORDS)
            after = 0
        elif run is None or token in _JOINERS or _may_be_particle(token, in_progress=in_progress):
            continue
        elif not maybe_name:
            run = None  # "The p": no name
        elif not in_progress:
            after += 1
            if after >= WORDS_AFTER:
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
