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
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from policies.pii.recognizer_base import RuleRecognizer
from policies.pii.recognizers_address_en import COUNTRIES

# ---------------------------------------------------------------- lexicons


@dataclass(frozen=True, slots=True)
class NameLexicons:
    """Lower-case ASCII lookups: first names and surnames, each split into names that are not
    common English words and names that are; English words that are no names; clinical terms."""

    first: frozenset[str]
    first_common: frozenset[str]
    last: frozenset[str]
    last_common: frozenset[str]
    words: frozenset[str]
    clinical: frozenset[str]

    def without(self, names: Iterable[str]) -> NameLexicons:
        """The same lexicons less ``names`` (to measure the rules on names they do not list)."""
        drop = frozenset(names)
        return NameLexicons(
            self.first - drop,
            self.first_common - drop,
            self.last - drop,
            self.last_common - drop,
            self.words,
            self.clinical,
        )


_DATA = "data"


def _read(name: str) -> frozenset[str]:
    text = resources.files("policies.pii").joinpath(_DATA, name).read_text("utf-8")
    return frozenset(line for line in text.split("\n") if line and not line.startswith("#"))


@functools.cache
def shipped_lexicons() -> NameLexicons:
    """The lexicons shipped in ``policies/pii/data``, read once per process."""
    return NameLexicons(
        first=_read("first_names.txt"),
        first_common=_read("first_names_common_words.txt"),
        last=_read("surnames.txt"),
        last_common=_read("surnames_common_words.txt"),
        words=_read("english_words.txt"),
        clinical=_read("clinical_terms.txt"),
    )


# ---------------------------------------------------------------- token classes

FIRST = 1  # a first name that is not a common word
FIRST_COMMON = 2  # a first name that is a common word ("will", "grace")
LAST = 4
LAST_COMMON = 8
WORD = 16  # an English word, a clinical or banking term, a cue word: not a name part
UNKNOWN = 32  # none of the above and shaped like a name: a name the lexicons do not list
OBFUSCATED = 64  # digits for letters that spell a listed name ("G0nzalez")
_NAME = FIRST | FIRST_COMMON | LAST | LAST_COMMON
_STRONG = FIRST | LAST

# Digits used for letters; "1" is tried as both "i" and "l".
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_VOWELS = frozenset("aeiouy")
# Inflections stripped before looking a word up, with the shortest stem each leaves (the shipped
# word list keeps stems only; bench/build_name_lexicons.py drops the same inflections). No "-er":
# too many surnames are a word plus "er" ("Boger", "Hunker").
_SUFFIXES = (("s", 2), ("es", 3), ("ed", 4), ("d", 4), ("ing", 3), ("ly", 4))
# Unknown words with these endings are drugs, procedures or conditions, not names.
_CLINICAL_ENDING_RE = regex.compile(
    r"(?:pril|olol|statin|formin|sartan|mab|nib|azole|cillin|mycin|oxacin|dipine|parin|lukast|prazole|"
    r"gliptin|glutide|semide|thiazide|profen|codone|zepam|zolam|triptan|dronate|vir|amine|oxetine|azepine|"
    r"tidine|afil|xaban|gatran|grel|flozin|tinib|triptyline|pramine|barbital|caine|tropin|relin|olone|"
    r"asone|onide|cycline|penem|itis|ectomy|otomy|ostomy|plasty|scopy|graphy|emia|aemia|uria|osis|ology|"
    r"ologist|algia|pathy|plasia|trophy|penia|cytosis)$"
)
_CACHE_LIMIT = 50_000


class _Classifier:
    """Token class lookups over one set of lexicons, cached per word."""

    def __init__(self, lexicons: NameLexicons) -> None:
        self._lex = lexicons
        self.clinical = lexicons.clinical
        self._cache: dict[str, int] = {}

    def classify(self, word: str) -> int:
        cached = self._cache.get(word)
        if cached is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            cached = self._cache[word] = self._classify(word)
        return cached

    def _classify(self, word: str) -> int:
        key = _key(word)
        if not key:
            return WORD
        if key.isalpha():
            return self._classify_key(key)
        if key in self._lex.clinical:
            return WORD  # "hba1c", "ft4"
        if not any(ch.isalpha() for ch in key) or sum(ch.isalpha() for ch in key) < 2:
            return WORD
        if any(ch.isdigit() and ch not in _LEET and ch != "1" for ch in key):
            return WORD
        variants = _deleet(key)
        unknown = True
        for variant in variants:
            found = self._classify_key(variant)
            if found & _NAME:
                return (found & _NAME) | OBFUSCATED
            unknown = unknown and found == UNKNOWN
        # Digits in a word that spells no listed name: an unlisted name ("Oy1nlol4") when it has
        # three letters or more and every reading is name-like ("3rd", "10am", "hba1c" are not).
        letters = sum(ch.isalpha() for ch in key)
        return UNKNOWN if unknown and letters >= 3 and len(key) >= 4 else WORD

    def _classify_key(self, key: str) -> int:
        lex = self._lex
        if key in _CUE_WORDS:
            return WORD  # "Patient", "Nurse", "Dean"... are surnames too, but here they announce one
        flags = 0
        if key in lex.first:
            flags |= FIRST
        elif key in lex.first_common:
            flags |= FIRST_COMMON
        if key in lex.last:
            flags |= LAST
        elif key in lex.last_common:
            flags |= LAST_COMMON
        if flags:
            return flags
        if key in lex.clinical or self._is_word(key):
            return WORD
        if (len(key) >= 3 and _VOWELS.intersection(key)) or key == "ng":
            return WORD if _CLINICAL_ENDING_RE.search(key) else UNKNOWN
        return WORD

    def _is_word(self, key: str, depth: int = 2) -> bool:
        """An English word, or one with up to two inflections stripped ("discussed" -> "discuss"
        -> "discus": the shipped list keeps stems only)."""
        lex = self._lex
        if key in lex.words or key in lex.first_common or key in lex.last_common:
            return True
        if depth == 0:
            return False
        for suffix, shortest in _SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= shortest:
                if self._is_word(key[: -len(suffix)], depth - 1):
                    return True
        return False


_LATIN_LETTERS = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "ħ": "h",
        "ß": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
    }
)


def _key(word: str) -> str:
    """Lower case, accents and apostrophes removed: the lexicons' spelling ("O'Brien" -> "obrien",
    "Yıldız" -> "yildiz")."""
    if not word.isascii():
        decomposed = unicodedata.normalize("NFKD", word.translate(_LATIN_LETTERS))
        word = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if not word.isascii():
            return ""
    return word.lower().replace("'", "").replace("`", "")


def _deleet(key: str) -> list[str]:
    """Spellings of ``key`` with its digits read as letters; "1" as "i" and as "l"."""
    variants = [""]
    for ch in key:
        if ch == "1":
            variants = [v + letter for v in variants for letter in "il"][:8]
        else:
            variants = [v + _LEET.get(ch, ch) for v in variants]
    return variants


# ---------------------------------------------------------------- context

# Titles: the next name-like words are a name in any casing.
_TITLES = (
    "dr doctor mr mrs ms mx miss mister madam madame mme mlle prof professor sir dame rev reverend "
    "fr nurse sister capt captain sgt sergeant lt lieutenant col colonel herr frau sr sra srta"
).split()
# Words for a person: a name-like word or two after them is a name.
_PERSON_WORDS = (
    "patient patients pt pts client clients customer customers cust member members cardholder holder "
    "accountholder beneficiary beneficiaries payee payer applicant applicants borrower borrowers "
    "guarantor policyholder insured subscriber guest visitor caller resident attending intern "
    "registrar consultant surgeon physician clinician provider practitioner therapist physio "
    "pharmacist midwife chaplain interpreter advisor adviser banker teller agent officer manager rep "
    "representative colleague coworker supervisor employee tenant landlord owner executor trustee "
    "attorney lawyer solicitor witness sponsor referrer gp np rn "
    "daughter daughters son sons wife husband mother father mom mum dad sister brother sibling partner "
    "spouse fiance fiancee girlfriend boyfriend widow widower grandson granddaughter grandmother "
    "grandfather grandma grandpa granny niece nephew aunt uncle cousin guardian carer caregiver friend "
    "neighbor neighbour stepson stepdaughter stepmother stepfather kin nok poa proxy surrogate "
    "named called name aka alias nee née dear hi hello hey attn attention regards sincerely thanks "
    "cheers signed cc bcc kid kids child children baby infant toddler grandchild grandkid stepchild "
    "surname surnames"
).split()
# Words that often come before a name but as often before anything else: with them a name needs two
# name-like words, one of them listed or both capitalized.
_WEAK_WORDS = (
    "for to from with by and or vs per about re call phone email text contact tell ask notify inform "
    "remind thank met meet see saw visit visited page paged consult refer referred transfer pay paid "
    "send sent approve verify discharge admit admitted schedule book summarize summarise draft write "
    "review behalf of"
).split()
_CUE_WORDS = frozenset(_TITLES) | frozenset(_PERSON_WORDS)
# Surnames in the lists ("An", "To", "Do", "So", "And") that in lower case or capitals are words.
_FUNCTION_WORDS = frozenset(
    "a an and are as at be but by do for from had has have he her his i if in is it me my no nor not "
    "of on or our out so than that the their them then there they this to too up us was we were what "
    "when where who why with you your".split()
)
_TITLE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:" + "|".join(_TITLES) + r")\.?[ \t]{1,3}$", regex.IGNORECASE
)
_PERSON_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:"
    + "|".join(sorted(_PERSON_WORDS, key=len, reverse=True))
    + r"|account[ \t]holder|card[ \t]holder|next[ \t]of[ \t]kin|known[ \t]as|goes[ \t]by|c/o"
    r"|(?:(?:full|patient|customer|first|last|given|family|middle|maiden|nick|user)[ \t]?)?name(?:['’]s)?"
    r"(?:[ \t](?:is|was))?"
    r"|call(?:s|ed)?[ \t]me|named[ \t](?:him|her|them)|(?:said|says|asked|told|replied|answered|shouted|"
    r"yelled|screamed|whispered|cried)(?:[ \t](?:at|to)|[ \t]\p{Lu}[\p{L}\p{M}'’\-]{1,30}[ \t](?:to|at))?"
    r"|starring|featuring"
    r"|(?:written|directed|signed|authored|witnessed|countersigned|produced|painted|composed)[ \t]by)"
    r"(?:[ \t]*[:,\-–—(?]|\.)?[ \t\n]{0,3}$",
    regex.IGNORECASE,
)
# Phrases that introduce oneself or someone: one listed first name, or two name parts, after them.
_INTRO_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:i[ \t]am|i['’]m|this[ \t]is|it[ \t]is|meet|introducing)[ \t]{1,3}$", regex.IGNORECASE
)
# Words that introduce a list of people: every name-like member of the list is a name.
_PEOPLE_LIST_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:(?:founders|co-?founders|authors|patients|team|attendees|participants|members|guests|"
    r"speakers|panelists|invitees|recipients|signatories|staff|children|kids|siblings|parents|"
    r"grandchildren|partners|directors|owners|applicants|beneficiaries|witnesses|contacts|visitors|"
    r"nurses|doctors|surgeons|residents|students|employees|colleagues|starring|cast)[ \t]*[:\-–—]?"
    r"|(?:to|from|cc|bcc|with|present|absent|apologies)[ \t]*:)[ \t\n]{0,3}$",
    regex.IGNORECASE,
)
_WEAK_BEFORE_RE = regex.compile(
    r"(?:(?<![\p{L}])(?:" + "|".join(_WEAK_WORDS) + r")|[,&;:(/]|^)[ \t]{0,3}$", regex.IGNORECASE
)
# What follows a person's name: a personal detail, a credential, a verb of care or banking.
_DETAIL_AFTER_RE = regex.compile(
    r"(?:[ \t]*[,(\-–—:]?[ \t]*(?:dob|d\.o\.b|date[ \t]of[ \t]birth|born|ssn|mrn|nhs|age|aged|"
    r"\d{1,3}[ \t]?(?:yo|y/o|y\.o\.|years?|yrs?|-year-old|[mf]\b)|(?<=[,(][ \t]*)\d{1,3}[ \t]*[,)]|"
    r"md|m\.d\.|rn|np|pa-c|do|phd|dds|mbbs|frcp|frcs|mrcp|jr|sr|ii|iii|esq)(?![\p{L}])"
    r"|[ \t]+(?:was|is|has|had)[ \t]+(?:been[ \t]+)?(?:seen|admitted|discharged|transferred|referred|"
    r"evaluated|diagnosed|started|prescribed|brought|scheduled|booked|approved|declined|charged)"
    r"|[ \t]+(?:presented|presents|reports|reported|complains|complained|denies|denied|states|stated|"
    r"called|phoned|says|said|asked|requests|requested|wants|needs|paid|deposited|withdrew|opened|"
    r"closed|signed|visited|arrived|died|passed|underwent|tolerated|consented|agreed|declined|missed|"
    r"presented|lives|works|emailed|wrote|reported|disputes|disputed|shouted|yelled|whispered|smiled|"
    r"laughed|spent|began|lived|married|studied|graduated|speaking|thinks|thought|feels|knows|replied|"
    r"answered)(?![\p{L}])"
    r"|[ \t]+(?:is|was)[ \t]+(?:a[ \t]+)?(?:very|so|really|always|never|such)(?![\p{L}]))",
    regex.IGNORECASE,
)
# After a possessive, these make the owner a person ("Nguyen's account"); others do not
# ("Parkinson's disease", "Crohn's flare").
_OWNED_RE = regex.compile(
    r"['’]s?[ \t]+(?:\p{L}+[ \t]+)?(?:daughter|son|wife|husband|mother|father|mom|mum|dad|sister|brother|"
    r"kid|child|baby|boss|friend|girlfriend|boyfriend|fiance|fiancee|colleague|birthday|wedding|funeral|"
    r"partner|spouse|children|kids|family|carer|caregiver|account|accounts|card|cards|chart|file|record|"
    r"records|case|appointment|balance|statement|loan|mortgage|insurance|phone|number|address|email|"
    r"dob|ssn|mrn|medication|medications|meds|results|labs|note|notes|letter|referral|consent|"
    r"discharge|admission|surgery|visit|bill|invoice|payment|payments|transfer|claim|policy|home|"
    r"room|bed|test|scan|biopsy|blood|prescription|allergies|history|condition|symptoms|pain)(?![\p{L}])",
    regex.IGNORECASE,
)
# A name right before these is a place or an institution named after someone ("Johns Hopkins
# Hospital", "Oakwood branch"); as the last word of a run they are not a surname ("Lincoln Square").
_PLACE_WORDS = frozenset(
    """
    hospital hospitals clinic clinics center centre medical health healthcare hospice infirmary
    pavilion building tower campus institute institution university college school academy
    foundation memorial trust fund bank banking financial capital securities investments insurance
    group inc llc ltd corp corporation company co associates partners pharmacy pharmaceuticals labs
    laboratories cathedral library museum airport station bridge street st avenue ave road rd
    boulevard blvd square plaza drive county city township heights springs branch office offices
    unit suite floor surgery practice centre lab labs laboratory service services team department
    dept program programme ward wards bay theatre theater
    orchestra band choir ensemble consulting consultants solutions systems technologies software
    holdings ventures media studios enterprises industries international limited plc gmbh llp
    sons brothers bros agency ratings
    """.split()
)
# Eponyms: "Smith fracture", "Wells score", "Parkinson's disease", "Foley catheter".
_EPONYM_TAILS = frozenset(
    """
    syndrome disease diseases sign signs test tests fracture score scale criteria classification grade
    stage procedure operation maneuver manoeuvre position catheter tube drain blade forceps clamp
    retractor repair reflex triad phenomenon effect formula equation index cell cells body bodies node
    nodes cyst cysts tumor tumour lymphoma sarcoma carcinoma palsy paralysis anomaly malformation
    deformity contracture disorder pouch diverticulum esophagus oesophagus ulcer thyroiditis dementia
    encephalopathy neuroma protein factor antigen stain lamp chart monitor pump valve shunt anastomosis
    incision point space canal duct gland ligament membrane nerve plexus fibers fibres spots nodules
    lesions technique method approach rule rules respiration breathing murmur sound pulse solution
    ratio law regimen protocol loop hold tear tears injury foot hand class ring thickness spot line
    arch angle zone complex bundle granules stripe striae nodule nodules maneuvre manoeuvres test
    """.split()
)
# Products named after someone ("Marcus savings", "Chase Sapphire card").
_PRODUCT_TAILS = frozenset(
    "card cards account accounts savings checking rewards mortgage loan visa mastercard plan award "
    "lecture scholarship prize act fellowship".split()
)
_PLACE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:st|ste|saint|san|santa|sao|mount|mt|fort|ft|port|lake|cape|camp|glen|upper|lower|"
    r"north|south|east|west|new)\.?[ \t]+$",
    regex.IGNORECASE,
)
# Institutions and firms whose names are a first name and a surname, or two surnames.
_ORGANISATIONS = frozenset(
    name.strip()
    for name in """
    charles schwab|edward jones|raymond james|morgan stanley|goldman sachs|merrill lynch|john hancock|
    wells fargo|jp morgan|j p morgan|j.p. morgan|jpmorgan chase|paine webber|dean witter|smith barney|
    lloyds banking|johns hopkins|dana farber|sloan kettering|memorial sloan kettering|cedars sinai|
    kaiser permanente|beth israel|beth israel deaconess|lenox hill|baylor scott|ronald mcdonald|
    henry ford|eli lilly|johnson johnson|bristol myers|bristol myers squibb|abbott laboratories|
    boston scientific|thermo fisher|becton dickinson|mass general|brigham women|kings college|
    guy thomas|st thomas|great ormond|addenbrookes|john radcliffe|charing cross|mary washington|
    sutter health|scott white|rush university|ben taub|harris health|grady memorial|barnes jewish|
    nationwide children|cook children|lurie children|rady children|shriners|apple pay|google pay|
    samsung pay|amazon pay|chase sapphire|marcus goldman
    """.split("|")
)

# ---------------------------------------------------------------- tokens

# A word: letters (any script) and digits, with inner apostrophes and hyphens ("O'Brien",
# "Garcia-Lopez", "Gonzalez's", "G0nzalez").
_TOKEN_RE = regex.compile(
    r"[\p{L}\p{M}0-9]+(?:['’`][\p{L}\p{M}0-9]+)*(?:-[\p{L}\p{M}0-9]+(?:['’`][\p{L}\p{M}0-9]+)*)*"
)
# First names that start a sentence as verbs ("Will Maria come?", "Mark John as seen").
_VERB_NAMES = frozenset("will may mark bill grant pat sue rob chase page drew call ask sign".split())
# The start of a sentence.
_SENTENCE_START_RE = regex.compile(r"(?:^|[\n.!?:;]|\.[ \t])[ \t\"'(]*$")
# The start of the text, of a line or of a field ("Name: ", "Re: ").
_FIELD_START_RE = regex.compile(r"(?:^|[\n:;>]|\.[ \t])[ \t]*$")
# What may separate two parts of one name: blanks on one line, or the dot of an initial.
_JOIN_RE = regex.compile(r"[ \t]{1,3}|\.[ \t]{0,2}")


@dataclass(slots=True)
class _Token:
    start: int
    end: int  # without a possessive "'s"
    text: str
    flags: int
    shape: str  # "title", "upper", "lower", "initial", "other"
    possessive: bool


def _shape(word: str) -> str:
    """ "title", "upper", "lower", "initial", "any" (a digit for the first letter, "3lvia": its case
    is lost) or "other" (mixed case that is not a capitalized word)."""
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) == 1 and len(word) == 1:
        return "initial"
    if not letters:
        return "other"
    if all(ch.isupper() for ch in letters):
        return "upper"
    if word[0].isdigit():
        return "any" if all(ch.islower() for ch in letters) else "title"
    if all(ch.islower() for ch in letters):
        return "lower"
    if letters[0].isupper():
        return "title"
    return "other"


def _shapes(tokens: Iterable[_Token]) -> set[str]:
    """The casings of a name's words; a word whose case is lost takes the others' ("any" alone:
    "title")."""
    shapes = {t.shape for t in tokens if t.shape not in ("initial", "any")}
    return shapes or {"title"}


# ---------------------------------------------------------------- the recognizer

_SCORE_STRONG = 0.85
_SCORE_CONTEXT = 0.8
_SCORE_WEAK = 0.6
_MAX_PARTS = 4
_NOT_A_PERSON = -1.0  # a firm, a place, an eponym: none of its words starts a name either
_NER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"})


class PersonNameRecognizer(RuleRecognizer):
    """English person names from lexicons, context and casing (see the module docstring)."""

    entity_type = "PERSON"

    def __init__(self, lexicons: NameLexicons | None = None) -> None:
        self._lexicons = lexicons
        self._classifier: _Classifier | None = None
        super().__init__()  # calls load(): the lexicons are read when the detector is built

    def load(self) -> None:
        if self._classifier is None:
            self._classifier = _Classifier(self._lexicons or shipped_lexicons())

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        self.load()
        return [
            RecognizerResult("PERSON", start, end, score)
            for start, end, score in self.find(
                text,
                _ner_spans(nlp_artifacts),
                _ner_spans(nlp_artifacts, _PERSON_LABEL),
                _ner_spans(nlp_artifacts, _PLACE_LABELS),
            )
        ]

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
        assert self._classifier is not None
        tokens = self._tokens(text)
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
            if "," in text or "&" in text or _AND_OR_RE.search(text):
                self._lists(text, tokens, names, refused)
            self._speaker_labels(text, tokens, names, refused)
            self._repeated_parts(text, tokens, names, refused, person_spans)
        return [(tokens[i].start, tokens[end - 1].end, score) for i, (end, score) in sorted(names.items())]

    def _lists(
        self, text: str, tokens: list[_Token], names: dict[int, tuple[int, float]], refused: set[int]
    ) -> None:
        """Members of a list of capitalized name-like words ("Morrison, Rogers and Torres", "Usamov
        and Bowers") when one member is a name or a listed name that is no common word, or when a
        word for people introduces the list ("founders:", "cc:"); in lower case only a list of
        three or more listed first names ("silvana, adam, chad and caleb")."""
        covered = _covered(names)
        index = 0
        while index < len(tokens):
            if not tokens[index].flags & (_NAME | UNKNOWN):
                index += 1
                continue
            members = _list_members(text, tokens, index)
            if len(members) < 2:
                index += 1
                continue
            index = members[-1][1]
            if any(i in refused for a, b in members for i in range(a, b)):
                continue
            if len(members) == 2 and "," in text[tokens[members[0][1] - 1].end : tokens[members[1][0]].start]:
                continue  # "in Tobel, Transunion": two members need "and", "or" or "&"
            if _PLACE_PREPOSITION_RE.search(text, 0, tokens[members[0][0]].start):
                continue  # "in Leon and Eyrarodda"
            if _firm_of_names(text, tokens, members):
                refused.update(i for a, b in members for i in range(a, b))
                continue  # "The Clark, Romero and Hall Orchestra", "Owens, Duran & Oneal LLP"
            words = [t for a, b in members for t in tokens[a:b] if t.shape != "initial"]
            shapes = _shapes(words)
            introduced = _PEOPLE_LIST_BEFORE_RE.search(text, 0, tokens[members[0][0]].start) is not None
            subject_pair = (
                len(members) == 2
                and shapes == {"title"}
                and _SENTENCE_START_RE.search(text, 0, tokens[members[0][0]].start) is not None
                and _LOWER_WORD_AFTER_RE.match(text, tokens[members[1][1] - 1].end) is not None
            )
            if shapes == {"lower"}:
                # Listed first names, and surnames or unlisted name-like words among a majority of them.
                firsts = [t for t in words if t.flags & (FIRST | FIRST_COMMON | LAST) or _long_unknown(t)]
                strong_firsts = [t for t in firsts if t.flags & FIRST]
                if not (
                    (len(members) >= 3 or introduced)
                    and len(firsts) == len(words)
                    and 2 * len(strong_firsts) > len(words)
                ):
                    continue
            elif not shapes <= {"title", "upper"}:
                continue
            elif not (
                introduced
                or any(i in covered for a, b in members for i in range(a, b))
                or any(t.flags & (_STRONG | OBFUSCATED) for t in words)
                or (subject_pair and any(_long_unknown(t) for t in words))
            ):
                continue
            elif (
                len(members) == 2
                and not introduced
                and not (
                    any(names.get(a, (0, 0.0))[1] >= _SCORE_CONTEXT for a, _ in members)
                    or (
                        shapes == {"title"}
                        and _SENTENCE_START_RE.search(text, 0, tokens[members[0][0]].start)
                        and _LOWER_WORD_AFTER_RE.match(text, tokens[members[1][1] - 1].end)
                    )
                )
            ):
                continue  # "Compare Coutts and Halifax": two firms read like two surnames
            if not introduced and not all(
                any(t.flags & (_STRONG | UNKNOWN | OBFUSCATED) for t in tokens[a:b])
                or a in covered
                or (subject_pair and any(_long_unknown(t) for t in words))
                for a, b in members
            ):
                continue  # "May and June": common words only ("Muslija and Brown were" is two people)
            score = _SCORE_CONTEXT if introduced else _SCORE_WEAK
            for a, b in members:
                if a in covered or any(i in covered for i in range(a, b)):
                    continue
                before = text[max(0, tokens[a].start - 40) : tokens[a].start]
                parts = [t for t in tokens[a:b] if t.shape != "initial"]
                if self._not_a_person(text, tokens, a, b, before, parts):
                    continue
                names[a] = (b, score)

    def _speaker_labels(
        self, text: str, tokens: list[_Token], names: dict[int, tuple[int, float]], refused: set[int]
    ) -> None:
        """Speakers of a dialogue: name-like words that open two lines or more, each followed by a
        colon and no number ("Ubul: What a wife.\nNicole: Remember me?"), one of them a name."""
        if text.count(":") < 2 or "\n" not in text:
            return
        covered = _covered(names)
        labels: list[tuple[int, int]] = []
        for index, token in enumerate(tokens):
            if not _LINE_START_RE.search(text, 0, token.start):
                continue
            end = index + 1
            while (
                end < len(tokens) and end - index < 3 and text[tokens[end - 1].end : tokens[end].start] == " "
            ):
                end += 1
            for stop in range(end, index, -1):
                if _SPEAKER_AFTER_RE.match(text, tokens[stop - 1].end):
                    words = tokens[index:stop]
                    if all(
                        t.flags & (_NAME | UNKNOWN) and t.shape in ("title", "upper", "lower") for t in words
                    ):
                        labels.append((index, stop))
                    break
        if len(labels) < 2:
            return
        if not any(
            a in covered or any(t.flags & (_STRONG | OBFUSCATED) for t in tokens[a:b]) for a, b in labels
        ):
            return
        for a, b in labels:
            if a in covered or any(i in refused for i in range(a, b)):
                continue
            if tokens[a].shape == "lower" and not all(t.flags & (FIRST | FIRST_COMMON) for t in tokens[a:b]):
                continue
            names[a] = (b, _SCORE_CONTEXT)

    def _repeated_parts(
        self,
        text: str,
        tokens: list[_Token],
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
                    and token.flags & (_STRONG | UNKNOWN | OBFUSCATED)
                    and len(token.text) > 2
                ):
                    key = _key(token.text)
                    seeds[key] = max(seeds.get(key, 0.0), min(score, _SCORE_CONTEXT))
                    if token.shape == "lower":
                        lower_seeds.add(token.text)
        for start, stop in person_spans:
            inside = [t for t in tokens if start <= t.start and t.end <= stop and t.shape != "initial"]
            if (
                inside
                and all(t.flags & (_NAME | UNKNOWN) for t in inside)
                and (len(inside) > 1 or inside[0].flags & (_STRONG | OBFUSCATED))
            ):
                for token in inside:
                    if token.flags & (_STRONG | UNKNOWN | OBFUSCATED) and len(token.text) > 2:
                        seeds.setdefault(_key(token.text), _SCORE_WEAK)
        if not seeds:
            return
        covered = _covered(names)
        for index, token in enumerate(tokens):
            if not token.flags & (_STRONG | UNKNOWN | OBFUSCATED) or len(token.text) < 3:
                continue  # the same word as a seed has the seed's class
            if index in covered or index in refused or token.shape not in ("title", "upper", "lower", "any"):
                continue
            if _overlaps(person_spans, token.start, token.end):
                continue  # the model's own call, which the analyzer may veto
            key = _key(token.text)
            seed = seeds.get(key)
            if seed is None and not key.isalpha() and any(c.isalpha() for c in key):
                seed = next((seeds[v] for v in _deleet(key) if v in seeds), None)  # "Cardona ... Cardon4"
            if seed is None or (
                token.shape == "lower"
                and not token.flags & (_STRONG | OBFUSCATED)
                and token.text not in lower_seeds
            ):
                continue
            before = text[max(0, token.start - 40) : token.start]
            if self._not_a_person(text, tokens, index, index + 1, before, [token]):
                continue
            names[index] = (index + 1, seed)

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
        # "Mark the Troponin", "Start Ativan", "Zelle". "Will Brown" stays a name.
        plain = [t for t in words if t.flags == WORD or _key(t.text) in self._classifier.clinical]
        if plain and all(t in plain or not t.flags & (_STRONG | UNKNOWN | OBFUSCATED) for t in words):
            return True
        first, last = inside[0], inside[-1] + 1
        for start in range(max(0, first - 6), first + 1):
            members = _list_members(text, tokens, start)
            if len(members) > 1 and any(a <= first < b for a, b in members):
                if _firm_of_names(text, tokens, members):
                    return True  # "The Clark, Romero and Hall Orchestra"
                break
        before = text[max(0, tokens[first].start - 40) : tokens[first].start]
        return bool(words) and self._not_a_person(text, tokens, first, last, before, words)

    def _tokens(self, text: str) -> list[_Token]:
        assert self._classifier is not None
        tokens = []
        for match in _TOKEN_RE.finditer(text):
            word = match.group(0)
            possessive = len(word) > 2 and word[-2] in "'’`" and word[-1] in "sS"
            if possessive:
                word = word[:-2]
            flags = self._classify_compound(word)
            shape = _shape(word)
            if (
                len(word) == 1
                and (word in _LEET or word == "1")
                and text[match.end() : match.end() + 1] == "."
            ):
                shape = "initial"  # "Maria 4. Gonzalez"
            tokens.append(_Token(match.start(), match.start() + len(word), word, flags, shape, possessive))
        return tokens

    def _classify_compound(self, word: str) -> int:
        """A hyphenated word is a name when one part is a listed name and the others are name-like."""
        assert self._classifier is not None
        if "-" not in word:
            return self._classifier.classify(word)
        parts = [self._classifier.classify(part) for part in word.split("-") if part]
        if any(p & _NAME for p in parts) and all(p & (_NAME | UNKNOWN) for p in parts):
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
        tokens: list[_Token],
        index: int,
        ner_spans: Sequence[tuple[int, int]],
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> tuple[int, float]:
        """(end index, score) of the name that starts at ``tokens[index]``: score 0.0 when there is
        none; then the words up to the end index are no name either (a firm, a place, an eponym)."""
        first = tokens[index]
        if not first.flags & (_NAME | UNKNOWN) and first.shape != "initial":
            return index, 0.0
        if first.shape in ("lower", "upper") and not first.flags & (FIRST | FIRST_COMMON | _STRONG | UNKNOWN):
            return index, 0.0  # "add", "PLS": a common word that is only a surname does not start a name
        if _key(first.text) in _FUNCTION_WORDS:
            return index, 0.0  # "And", "To": surnames too, but not at the start of a name
        if (
            not first.flags & (_STRONG | UNKNOWN | OBFUSCATED)
            and (not first.flags & FIRST_COMMON or _key(first.text) in _VERB_NAMES)
            and index + 1 < len(tokens)
            and tokens[index + 1].flags & (FIRST | FIRST_COMMON)
            and _SENTENCE_START_RE.search(text, 0, first.start)
        ):
            return index, 0.0  # "Book John Smith", "Will Maria": a verb before the name
        # The longest run of name-like words joined by blanks (or an initial's dot).
        end = index + 1
        while end < len(tokens) and end - index < _MAX_PARTS and not tokens[end - 1].possessive:
            previous, current = tokens[end - 1], tokens[end]
            gap = text[previous.end : current.start]
            if gap.startswith(".") and previous.shape != "initial":
                break
            if (
                gap == " "
                and current.shape == "lower"
                and current.text in _NAME_PARTICLES
                and previous.shape == "title"
                and end + 1 < len(tokens)
                and end + 1 - index < _MAX_PARTS
                and tokens[end + 1].shape == "title"
                and tokens[end + 1].flags & (_NAME | UNKNOWN)
                and text[current.end : tokens[end + 1].start] == " "
            ):
                end += 2  # "Willemine ten Pas": a particle and the capitalized part after it
                continue
            if not _JOIN_RE.fullmatch(gap) or not _continues(tokens, index, end):
                break
            end += 1
        while end > index and tokens[end - 1].shape == "initial":
            end -= 1  # a name does not end with an initial
        if end == index:
            return index, 0.0
        inverted = self._surname_comma_first(text, tokens, index, end)
        if inverted:
            return inverted, _SCORE_CONTEXT
        # "Grace Lopez Cardenas" may fail as three parts and pass as two: try the shorter runs.
        for stop in range(end, index, -1):
            score = self._judge(text, tokens, index, stop, ner_spans, place_spans)
            if score > 0:
                return stop, score
            if score < 0:
                return stop, 0.0
        return index, 0.0

    @staticmethod
    def _surname_comma_first(text: str, tokens: list[_Token], index: int, end: int) -> int:
        """End index of "Gonzalez, Maria" / "SMITH, JOHN" starting at ``index``, or 0: a listed
        surname that is not a common word, a comma, a listed first name, cased alike, and no
        further name part after it ("Hi team, Lynne Owensby" is no inverted name)."""
        if end != index + 1 or end >= len(tokens):
            return 0
        if text[tokens[index].end : tokens[end].start] not in (", ", ","):
            return 0
        surname, given = tokens[index], tokens[end]
        if surname.possessive or not surname.flags & (_NAME | UNKNOWN) or not given.flags & (_NAME | UNKNOWN):
            return 0
        # A field or a line that starts with the name ("Stare, Ocie - card replacement") lets a
        # common-word surname or an unlisted first name count; elsewhere both must be listed.
        at_start = _FIELD_START_RE.search(text, 0, surname.start) is not None
        listed_pair = bool(surname.flags & (LAST | OBFUSCATED)) and bool(given.flags & (FIRST | FIRST_COMMON))
        if not listed_pair and not (
            at_start
            and (surname.flags & (LAST | LAST_COMMON | OBFUSCATED) or given.flags & (FIRST | OBFUSCATED))
            and (surname.flags | given.flags) & (_STRONG | OBFUSCATED)
        ):
            return 0
        shapes = _shapes([surname, given])
        if len(shapes) != 1 or not shapes <= {"title", "upper", "lower"}:
            return 0
        if shapes == {"lower"} and not given.flags & (FIRST | OBFUSCATED):
            return 0
        stop = end + 1
        while (
            stop < len(tokens)
            and tokens[stop].shape == "initial"
            and text[tokens[stop - 1].end : tokens[stop].start] == " "
        ):
            stop += 1  # "Gonzalez, Maria E."
        if stop < len(tokens) and _JOIN_RE.fullmatch(text[tokens[stop - 1].end : tokens[stop].start]):
            if _continues(tokens, end, stop) and tokens[stop].flags & (_NAME | UNKNOWN):
                return 0
        separator = _LIST_SEPARATOR_RE.match(text, tokens[stop - 1].end)
        if separator is not None and separator.end() > tokens[stop - 1].end:
            following = next((t for t in tokens[stop : stop + 2] if t.start == separator.end()), None)
            if (
                following is not None
                and following.shape == given.shape
                and following.flags & (_NAME | UNKNOWN)
                and _key(following.text) not in _FUNCTION_WORDS
            ):
                return 0  # "leonti, terrence, pamela and brian": a list, not "Surname, First"
        return stop

    def _judge(
        self,
        text: str,
        tokens: list[_Token],
        index: int,
        end: int,
        ner_spans: Sequence[tuple[int, int]],
        place_spans: Sequence[tuple[int, int]] = (),
    ) -> float:
        """The score of ``tokens[index:end]`` as a person name, 0.0 when it is not one."""
        parts = [t for t in tokens[index:end] if t.shape != "initial" and not _is_particle(t, tokens[index])]
        if not parts:
            return 0.0
        start, stop = tokens[index].start, tokens[end - 1].end
        before = text[max(0, start - 40) : start]
        shapes = _shapes(parts)
        title_case = shapes == {"title"}
        upper_case = shapes == {"upper"} and all(len(t.text) > 1 for t in parts)
        cased = title_case or upper_case or (shapes <= {"title", "upper"} and len(parts) > 1)
        several = len(parts) > 1
        strong = sum(1 for t in parts if t.flags & (_STRONG | OBFUSCATED))
        listed = sum(1 for t in parts if t.flags & _NAME)
        unknown = len(parts) - listed
        common_only = unknown == 0 and strong == 0

        if _TITLE_BEFORE_RE.search(before):
            # "Dr. Adeyemi", "dr. oyelaran", "MR. WILL BROWN"; not "dr. will" (lower case, a common word).
            return _SCORE_STRONG if cased or not common_only else 0.0

        if common_only and _THE_BEFORE_RE.search(before):
            return 0.0  # "The Princess Royal arrived": common words after "the" are a title, not a name
        if len(parts) == 1 and "-" in parts[0].text and not _person_or_title_before(before):
            return _NOT_A_PERSON  # "Mallory-Weiss", "Cheyne-Stokes": a lone hyphenated pair is an eponym
        possessive = tokens[end - 1].possessive
        owned = possessive and _OWNED_RE.match(text, stop) is not None
        if not owned and self._not_a_person(text, tokens, index, end, before, parts):
            return _NOT_A_PERSON
        person_before = _PERSON_BEFORE_RE.search(before) is not None or (
            _INTRO_BEFORE_RE.search(before) is not None
            and ((several and (cased or strong)) or bool(parts[0].flags & (FIRST | OBFUSCATED)))
        )
        detail_after = owned or _DETAIL_AFTER_RE.match(text, stop) is not None
        # A detail after the name alone ("... denied", "..., DOB") follows drugs and units too: a
        # single word then must be a listed name that is not a common word.
        if person_before or (detail_after and (several or strong)):
            if title_case:
                return _SCORE_CONTEXT  # "daughter Grace", "patient Adeyemi", "Nguyen's account"
            if upper_case and (several or strong or unknown):
                return _SCORE_CONTEXT  # "PATIENT MARIA GONZALEZ", "PT ADEYEMI"; not "PATIENT WILL"
            if strong or (several and not common_only):
                return _SCORE_CONTEXT  # "patient maria", "pt oluwaseun adebayo"

        if any(_is_particle(t, tokens[index]) for t in tokens[index:end]):
            return _particle_name(tokens[index:end], parts, before, _overlaps(place_spans, start, stop))
        if several and unknown == 0:
            pair = self._pair_score(parts, cased, strong, _overlaps(ner_spans, start, stop))
            if pair:
                return pair
        if len(parts) == 1 and tokens[index].shape == "initial" and parts[0].flags & LAST and cased:
            return _SCORE_WEAK  # "J. Smith"
        if len(parts) == 2 and title_case and _initial_between(text, tokens, index, end):
            return _SCORE_WEAK  # "Sari J. Paavolainen", "Faina D. Yefremova": no word has that shape
        if (
            len(parts) == 2
            and title_case
            and unknown
            and any(_has_diacritic(t.text) for t in parts)
            and all(len(t.text) >= 3 for t in parts)
            and not _PLACE_PREPOSITION_RE.search(before)
        ):
            return _SCORE_WEAK  # "Esat Jeknić", "Šárka Ottová": Latin letters with accents, no English word
        if not several:
            return self._lone_word(text, tokens[index], parts[0], before, place_spans)
        weak_before = _WEAK_BEFORE_RE.search(before) is not None or (
            # A line of its own ("> Gyala Antall" above an address): a name or a heading.
            _LINE_START_RE.search(text, max(0, start - 8), start) is not None
            and _LINE_END_AFTER_RE.match(text, stop) is not None
        )
        long_unknowns = all(len(t.text) >= 4 for t in parts if t.flags & UNKNOWN)
        if not cased:
            if shapes == {"lower"} and strong and unknown and long_unknowns:
                pair = len(parts) == 2 and (
                    (parts[0].flags & FIRST and parts[1].flags & UNKNOWN)
                    or (parts[0].flags & UNKNOWN and parts[1].flags & LAST)
                )
                if weak_before or pair:
                    return _SCORE_WEAK  # "for oyinlola hussain", "srinika shermer", "oyinlola demir"
            return 0.0
        ner = _overlaps(ner_spans, start, stop)
        if strong and unknown and (title_case or long_unknowns):
            return _SCORE_WEAK  # "Maria Adeyemi", "GONZALEZ OYELARAN"
        if unknown == len(parts) and (
            (title_case and (weak_before or ner)) or (upper_case and weak_before and long_unknowns)
        ):
            return _SCORE_WEAK  # "for Oluwaseun Adebayo", "FOR LATIF GLUECK", the model's ORG/GPE span
        if title_case and strong and (weak_before or ner):
            return _SCORE_WEAK
        if title_case and weak_before and parts[0].flags & FIRST_COMMON and unknown and long_unknowns:
            return _SCORE_WEAK  # "to Sandy Sprenkel"
        return 0.0

    @staticmethod
    def _lone_word(
        text: str, token: _Token, part: _Token, before: str, place_spans: Sequence[tuple[int, int]]
    ) -> float:
        """A single capitalized word with no context word before it: a listed first name that is no
        common word ("Why is Rebecca so impulsive?"), or a name-like word before what only people
        do ("Trivo lives on", "the Sokolov novel"); not a place the model or a preposition names."""
        if token is not part or part.shape != "title" or len(part.text) < 3:
            return 0.0
        if _PLACE_PREPOSITION_RE.search(before) or _overlaps(place_spans, part.start, part.end):
            return 0.0
        if _PLACE_KIND_BEFORE_RE.search(before) or _TRAVEL_BEFORE_RE.search(before):
            return 0.0
        if _key(part.text) in COUNTRIES:
            return 0.0
        if _PARTICLE_BEFORE_RE.search(before) or _CAPITALIZED_AFTER_RE.match(text, part.end):
            return 0.0  # "Villafranca del Cid", "Nera Economic Consulting": part of a longer proper name
        after = part.end + 2 if part.possessive else part.end
        if _MEMBER_AFTER_RE.match(text, after) or _MEMBER_BEFORE_RE.search(before):
            return 0.0  # a member of a list: the list decides ("The Clark, Romero and Hall Orchestra")
        if part.flags & FIRST and not _WORK_BEFORE_RE.search(before):
            # A sentence or a field capitalizes any word ("Login from ...", an enum value "Paris"):
            # there a lone first name needs a comma, a possessive or a verb of people after it.
            if not _SENTENCE_START_RE.search(before) or (
                part.possessive or text.startswith(",", after) or _PERSON_VERB_AFTER_RE.match(text, after)
            ):
                return _SCORE_WEAK
        if not part.flags & (_STRONG | UNKNOWN | OBFUSCATED) or len(part.text) < 4:
            return 0.0
        if _PERSON_VERB_AFTER_RE.match(text, after):
            return _SCORE_WEAK
        if _WORK_BEFORE_RE.search(before) and _WORK_AFTER_RE.match(text, after):
            return _SCORE_WEAK
        return 0.0

    @staticmethod
    def _pair_score(parts: list[_Token], cased: bool, strong: int, ner: bool) -> float:
        """A first name then a surname (middle parts listed too), or two listed surnames."""
        head, tail = parts[0], parts[-1]
        first_then_last = head.flags & (FIRST | FIRST_COMMON) and tail.flags & (LAST | LAST_COMMON)
        two_surnames = cased and head.flags & (LAST | OBFUSCATED) and tail.flags & (LAST | OBFUSCATED)
        if not (first_then_last or two_surnames):
            return 0.0
        if strong == 0:
            # "Will Brown": two common words; only where the model saw an entity there.
            return _SCORE_WEAK if ner and cased and first_then_last else 0.0
        # Lower case ("john smith") scores lower: both parts listed, one not a common word.
        return _SCORE_STRONG if cased else _SCORE_CONTEXT

    @staticmethod
    def _not_a_person(
        text: str, tokens: list[_Token], index: int, end: int, before: str, parts: list[_Token]
    ) -> bool:
        """A place or an institution named after someone, an eponym, a product, a known firm."""
        if _PLACE_BEFORE_RE.search(before):
            return True
        all_strong = all(t.flags & (_STRONG | OBFUSCATED) for t in parts)
        if _key(parts[-1].text) in _PLACE_WORDS and not parts[-1].flags & _STRONG:
            return True  # "Lincoln Square", "Harbor Point"
        if end < len(tokens):
            gap = text[tokens[end - 1].end : tokens[end].start].lower()
            tail = _key(tokens[end].text)
            if gap in (" ", "  ", "-"):
                if tail in _EPONYM_TAILS or tail in _PLACE_WORDS or tail in _PRODUCT_TAILS:
                    # "Maria Gonzalez test results" is a person, "Wells score" is not.
                    return not (len(parts) > 1 and all_strong and tail in _SOFT_TAILS)
            elif gap in ("'s ", "’s ", "`s ", "' "):
                if tail in _EPONYM_TAILS:
                    return True  # "Parkinson's disease", "Baker's cyst"
                if tail in _PLACE_WORDS and len(parts) == 1:
                    return True  # "Mary's Hospital"
        keys = [_key(t.text).replace("-", " ") for t in tokens[index:end]]
        return any(" ".join(keys[:n]) in _ORGANISATIONS for n in range(2, len(keys) + 1))


def _continues(tokens: list[_Token], index: int, end: int) -> bool:
    """Whether ``tokens[end]`` may continue the name ``tokens[index:end]``: a name-like word (or an
    initial) cased like the name's words. Outside Title Case a common word continues only a first
    name, as its second part ("john brown", "GRACE ROSE SMITH"), so that "ana will", "tran was
    seen" and "MORGAN STANLEY SUBJECT TO" stop at the name; a function word never does."""
    current = tokens[end]
    if current.shape == "initial":
        return True
    if not current.flags & (_NAME | UNKNOWN):
        return False
    tail = _key(current.text)
    if (
        tail in _EPONYM_TAILS or tail in _PLACE_WORDS or tail in _PRODUCT_TAILS
    ) and not current.flags & _STRONG:
        return False  # "Child-Pugh score", "Meckel diverticulum", "Lincoln Square": judged by what precedes
    shapes = _shapes(tokens[index:end])
    if current.shape in ("any", "other"):
        # Its case is lost: it joins capitalized words, and lower-case ones that are no common word.
        return shapes != {"lower"} or all(
            t.flags & (_STRONG | UNKNOWN | OBFUSCATED) for t in tokens[index:end] if t.shape != "initial"
        )
    if shapes != {current.shape} and not (shapes | {current.shape} <= {"title", "upper"}):
        return False
    if current.shape == "title":
        return True
    if _key(current.text) in _FUNCTION_WORDS:
        return False
    if current.flags & (_STRONG | UNKNOWN | OBFUSCATED):
        return True
    parts = [t for t in tokens[index:end] if t.shape != "initial"]
    return len(parts) == 1 and bool(parts[0].flags & (FIRST | FIRST_COMMON | UNKNOWN))


def _firm_of_names(text: str, tokens: list[_Token], members: list[tuple[int, int]]) -> bool:
    """Whether a list of names is the name of a firm: "the" before it, or a firm or place word right
    after its last member ("Jones, Smith and Davis Orchestra", "Barnett, Melton and Garcia LLC")."""
    first, last = tokens[members[0][0]], tokens[members[-1][1] - 1]
    if _THE_BEFORE_RE.search(text, max(0, first.start - 8), first.start):
        return True
    after = _WORD_AFTER_RE.match(text, last.end)
    return after is not None and not last.possessive and _key(after.group(1)) in _PLACE_WORDS


def _long_unknown(token: _Token) -> bool:
    """An unlisted name-like word of four letters or more ("Muslija", "leonti")."""
    return token.flags == UNKNOWN and len(token.text) >= 4


def _is_particle(token: _Token, first: _Token) -> bool:
    """A lower-case particle inside a capitalized name ("Willemine ten Pas", "Ana de Souza")."""
    return token is not first and token.shape == "lower" and token.text in _NAME_PARTICLES


def _particle_name(run: list[_Token], parts: list[_Token], before: str, place: bool) -> float:
    """A capitalized name with a particle between its parts ("Willemine ten Pas", "Ana da Costa"):
    every part name-like, one of them a listed name or no English word; not a place ("Rio de
    Janeiro" where the model saw a place, "in Villafranca del Cid")."""
    if place or _PLACE_PREPOSITION_RE.search(before) or _PLACE_BEFORE_RE.search(before):
        return 0.0
    if _PLACE_KIND_BEFORE_RE.search(before):
        return 0.0
    if _shapes(parts) != {"title"} or not all(t.flags & (_NAME | UNKNOWN) for t in parts):
        return 0.0
    if not any(t.flags & (_STRONG | UNKNOWN | OBFUSCATED) for t in parts):
        return 0.0
    return _SCORE_WEAK if run[-1].shape == "title" else 0.0


def _initial_between(text: str, tokens: list[_Token], index: int, end: int) -> bool:
    """Whether ``tokens[index:end]`` is a word, one capital initial with its dot, and a word."""
    if end - index != 3 or tokens[index + 1].shape != "initial" or not tokens[index + 1].text.isupper():
        return False
    return text[tokens[index].end : tokens[index + 2].start] in (f" {tokens[index + 1].text}. ",)


def _has_diacritic(word: str) -> bool:
    """A Latin letter with an accent or a letter such as ł, ø, ß ("Jeknić", "Łukasz")."""
    return not word.isascii() and _key(word) != "" and _key(word) != word.lower()


def _person_or_title_before(before: str) -> bool:
    """Whether a title or a person word ends ``before``."""
    return _TITLE_BEFORE_RE.search(before) is not None or _PERSON_BEFORE_RE.search(before) is not None


def _overlaps(spans: Sequence[tuple[int, int]], start: int, stop: int) -> bool:
    return any(s < stop and start < e for s, e in spans)


# Words after a name that make it an eponym or a product only when it is not a full name of two
# listed names: "Maria Gonzalez test results", "Tran Nguyen chart" are people.
_SOFT_TAILS = frozenset(
    "test tests chart plan card cards account accounts savings checking rewards mortgage loan file "
    "record score scale position point sign signs sound pulse home room unit ward floor bed".split()
)


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
# Lower-case particles of surnames ("van", "de", "ten", "bin"): a capitalized name goes on past them.
_NAME_PARTICLES = frozenset(
    "van von der den ten ter de da di del della dos das du le la bin ibn ben ap".split()
)
_PARTICLE_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:" + "|".join(sorted(_NAME_PARTICLES)) + r")[ \t]$", regex.IGNORECASE
)
_CAPITALIZED_AFTER_RE = regex.compile(r"[ \t]\p{Lu}\p{Ll}")
# Travel before a lone word: a place ("moved here from Kenosha", "flew to Coles").
_TRAVEL_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:moved|moving|move|flew|fly|flying|travel(?:l)?(?:ed|ing)?|returned|returning|drove|"
    r"driving|relocated|emigrated|immigrated|went|going|trip|holiday|vacation|born|live|lived|lives|living)"
    r"(?:[ \t]+(?:here|there|back|home|away|over))?[ \t]+(?:from|to|in|into)[ \t]+$",
    regex.IGNORECASE,
)
# A place's kind before its name ("home city Villafranca del Cid", "the village of Ettelgem").
_PLACE_KIND_BEFORE_RE = regex.compile(
    r"(?<![\p{L}])(?:city|town|village|county|province|region|district|municipality|borough|parish|"
    r"island|state|country|capital)(?:[ \t]+of)?[ \t]{1,3}$",
    regex.IGNORECASE,
)
# What only a person does, after a lone name-like word ("Trivo lives on", "Mourik began writing").
_PERSON_VERB_AFTER_RE = regex.compile(
    r"[ \t]+(?:lives|lived|works|worked|married|studied|graduated|thinks|thought|feels|felt|knows|knew|"
    r"smiled|laughed|shouted|yelled|whispered|replied|answered|says|said|wrote|began[ \t]+writing|"
    r"grew[ \t]+up|was[ \t]+born)(?![\p{L}])",
    regex.IGNORECASE,
)
# "the Sokolov novel": a name-like word between an article and a work that someone wrote.
_WORK_BEFORE_RE = regex.compile(r"(?<![\p{L}])(?:the|a|an)[ \t]+$", regex.IGNORECASE)
_WORK_AFTER_RE = regex.compile(
    r"[ \t]+(?:novel|novels|memoir|memoirs|biography|poem|poems|essay|essays|short[ \t]+story)(?![\p{L}])",
    regex.IGNORECASE,
)
# The start of a line (a quoted line too: "> Ubul: ...").
_LINE_START_RE = regex.compile(r"(?:^|\n)[ \t>*\-]*$")
_MEMBER_AFTER_RE = regex.compile(r"[ \t]*(?:,|&|[ \t](?i:and|or))[ \t]*\p{Lu}")
_MEMBER_BEFORE_RE = regex.compile(r"\p{Lu}[\p{L}\p{M}'’\-]*[ \t]*(?:,|&|[ \t](?i:and|or))[ \t]*$")
_THE_BEFORE_RE = regex.compile(r"(?<![\p{L}])the[ \t]+$", regex.IGNORECASE)
_WORD_AFTER_RE = regex.compile(r"[ \t]+(?:&[ \t]+)?(\p{L}+)")
_LINE_END_AFTER_RE = regex.compile(r"[ \t]*(?:\r?\n|\Z)")
_AND_OR_RE = regex.compile(r"[ \t](?:and|or)[ \t]", regex.IGNORECASE)
# A lower-case word next: the verb of a sentence whose subject ends here ("Usamov and Bowers were").
_LOWER_WORD_AFTER_RE = regex.compile(r"[ \t]+\p{Ll}")
# Before a place rather than a person ("in Store Merløse", "at Tobel").
_PLACE_PREPOSITION_RE = regex.compile(
    r"(?<![\p{L}])(?:in|at|near|via|across|around|through|outside|inside|into|towards?)[ \t]{1,3}$",
    regex.IGNORECASE,
)
# A speaker label's colon: then speech, not a number, a time or an address.
_SPEAKER_AFTER_RE = regex.compile(r"[ \t]*:(?![ \t]*[\d/])")
# What separates the members of a list: a comma, "and", "or", "&" ("Morrison, Rogers and Torres").
_LIST_SEPARATOR_RE = regex.compile(
    r"[ \t]*(?:,[ \t]*(?:(?:and|or)[ \t]+)?|[ \t]+(?:and|or|&)[ \t]+|[ \t]*&[ \t]*)", regex.IGNORECASE
)


def _covered(names: dict[int, tuple[int, float]]) -> set[int]:
    return {i for index, (end, _) in names.items() for i in range(index, end)}


def _list_members(text: str, tokens: list[_Token], index: int) -> list[tuple[int, int]]:
    """The members (token ranges of one to three name-like words) of a list that starts at
    ``tokens[index]``, each separated from the next by a comma, "and", "or" or "&"."""
    members: list[tuple[int, int]] = []
    while index < len(tokens):
        end = index
        while (
            end < len(tokens)
            and end - index < 3
            and (tokens[end].flags & (_NAME | UNKNOWN) or tokens[end].shape == "initial")
            and _key(tokens[end].text) not in _FUNCTION_WORDS
            and (end == index or _JOIN_RE.fullmatch(text[tokens[end - 1].end : tokens[end].start]))
            and not tokens[end].possessive
        ):
            end += 1
        if end == index or tokens[index].shape == "initial":
            break
        if (
            end < len(tokens)
            and _JOIN_RE.fullmatch(text[tokens[end - 1].end : tokens[end].start])
            and (tokens[end].flags & (_NAME | UNKNOWN) and _key(tokens[end].text) not in _FUNCTION_WORDS)
        ):
            break  # four name-like words in a row: no list member
        members.append((index, end))
        separator = _LIST_SEPARATOR_RE.match(text, tokens[end - 1].end)
        if separator is None or separator.end() == tokens[end - 1].end:
            break
        index = end
        while index < len(tokens) and tokens[index].start < separator.end():
            index += 1  # "and", "or"
        if index >= len(tokens) or tokens[index].start != separator.end():
            break
    return members
